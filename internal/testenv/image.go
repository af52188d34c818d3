package testenv

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Mode is how the test program behaves.
type Mode string

const (
	Healthy   Mode = "healthy"
	Crash     Mode = "crash"     // exits 300 ms after start
	Unhealthy Mode = "unhealthy" // runs, but its HEALTHCHECK fails
	LateCrash Mode = "latecrash" // healthy, then exits after CrashAfter
	// LateUnhealthy keeps running, but its health endpoint fails after CrashAfter.
	LateUnhealthy Mode = "lateunhealthy"
)

// App describes one image of the test program.
type App struct {
	Mode Mode
	// Version is baked into the image (env APP_VERSION) so every version has its own digest.
	Version string
	// CrashAfter is LateCrash's delay (default 8s).
	CrashAfter time.Duration
	// CrashOn ("VAR=value") limits LateCrash and LateUnhealthy to containers whose
	// environment variable VAR has that value; the others stay healthy.
	CrashOn string
	// NoHealthcheck leaves HEALTHCHECK out of the image.
	NoHealthcheck bool
	// Platform defaults to linux/<GOARCH>.
	Platform *v1.Platform
}

var (
	buildOnce sync.Once
	binary    []byte
	buildErr  error
)

// appBinary builds the static test program once per test process.
func appBinary(t testing.TB) []byte {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hoist-testapp")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(dir)
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "testapp")
		out := filepath.Join(dir, "app")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build testapp: %v\n%s", err, b)
			return
		}
		binary, buildErr = os.ReadFile(out)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// binaryBase is an image of one binary at /file, with empty /data and /tmp (dirMode),
// and a copy of its config file for the caller to fill in and set.
func binaryBase(t testing.TB, file string, bin []byte, dirMode int64) (v1.Image, *v1.ConfigFile) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"data/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: dirMode, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: file, Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write(bin)
	tw.Close()
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (ioReadCloser, error) { return nopCloser{bytes.NewReader(layerBytes)}, nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return img, cf.DeepCopy()
}

// images holds each variant of the test program's image built so far, by App: a test
// binary builds each once, whichever tests push it.
var images sync.Map

// Image builds the test program's image without pushing it (or returns the one built
// before for the same App).
func Image(t testing.TB, a App) v1.Image {
	t.Helper()
	key := fmt.Sprintf("%+v", a)
	if a.Platform != nil {
		key += fmt.Sprintf("%+v", *a.Platform)
	}
	if img, ok := images.Load(key); ok {
		return img.(v1.Image)
	}
	img := buildImage(t, a)
	// Its digest and manifest are computed here, before other tests share it.
	if _, err := img.Manifest(); err != nil {
		t.Fatal(err)
	}
	if _, err := img.Digest(); err != nil {
		t.Fatal(err)
	}
	got, _ := images.LoadOrStore(key, img)
	return got.(v1.Image)
}

// buildImage builds one variant of the test program's image.
func buildImage(t testing.TB, a App) v1.Image {
	t.Helper()
	img, cf := binaryBase(t, "app", appBinary(t), 0o777)
	plat := a.Platform
	if plat == nil {
		plat = &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	}
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	mode := a.Mode
	if mode == "" {
		mode = Healthy
	}
	crashAfter := a.CrashAfter
	if crashAfter == 0 {
		crashAfter = 8 * time.Second
	}
	cf.Config.Entrypoint = []string{"/app", "-mode=" + string(mode), "-crash-after=" + crashAfter.String()}
	if a.CrashOn != "" {
		cf.Config.Entrypoint = append(cf.Config.Entrypoint, "-crash-on="+a.CrashOn)
	}
	cf.Config.Env = []string{"APP_VERSION=" + a.Version, "PATH=/"}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cf.Config.Volumes = map[string]struct{}{"/data": {}}
	cf.Config.Labels = map[string]string{"org.example.version": a.Version, "org.example.mode": string(mode)}
	if !a.NoHealthcheck {
		// The check answers in milliseconds; the timeout is for a loaded machine, where
		// starting the check's process can take seconds. A failing check exits at once.
		// Each check is an exec in the container, about 50 ms of the engine's CPU: 20
		// containers checked every second keep one core busy. The images that turn
		// unhealthy are checked every second (tests time their watch by it); the others,
		// which tests keep running for long, every 2 s.
		every := 2 * time.Second
		if mode == Unhealthy || mode == LateUnhealthy {
			every = time.Second
		}
		cf.Config.Healthcheck = &v1.HealthConfig{
			Test:     []string{"CMD", "/app", "-check"},
			Interval: every, Timeout: 15 * time.Second, Retries: 3,
		}
	}
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// PushApp builds the test program's image and pushes it as ref ("127.0.0.1:port/app:v1").
// It returns the pushed manifest's digest.
func PushApp(t testing.TB, ref string, a App) v1.Hash {
	t.Helper()
	img := Image(t, a)
	return push(t, ref, img, func(tag name.Tag) error { return remote.Write(tag, img) })
}

// PushIndex pushes a multi-arch index of per-platform images ("linux/amd64" → image) as
// ref and returns the index digest.
func PushIndex(t testing.TB, ref string, imgs map[string]v1.Image) v1.Hash {
	t.Helper()
	var adds []mutate.IndexAddendum
	for plat, img := range imgs {
		p, err := v1.ParsePlatform(plat)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	return push(t, ref, idx, func(tag name.Tag) error { return remote.WriteIndex(tag, idx) })
}

// push writes something with a digest under ref and returns that digest.
func push(t testing.TB, ref string, what interface{ Digest() (v1.Hash, error) }, write func(name.Tag) error) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(tag); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := what.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
