package demo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Version is one image of the demo app.
type Version struct {
	Name       string // v1, v2, …: baked in as APP_VERSION, so each version has its own digest
	Mode       Mode
	CrashAfter time.Duration // CrashAfter mode only
}

// ErrNotStatic means the binary cannot run in an image without a base: it needs a
// dynamic loader and a C library the image does not have.
var ErrNotStatic = errors.New("is linked dynamically; the demo images have no C library: build hoist with CGO_ENABLED=0 (scripts/run.sh does)")

// CheckBinary says whether binary can be the demo images' only layer: a statically
// linked Linux program.
func CheckBinary(binary string) error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("the demo runs this hoist binary in Linux containers; this one is built for %s", runtime.GOOS)
	}
	return checkStatic(binary)
}

// Layer returns the one layer of every demo image: the hoist binary at /hoist and an
// empty /tmp. Built once, it is shared by all versions, so a push uploads it once.
func Layer(binary string) (v1.Layer, error) {
	if err := CheckBinary(binary); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	return fileLayer(bin)
}

// fileLayer is a layer of bin at /hoist (mode 0755) and an empty /tmp (mode 1777).
func fileLayer(bin []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777, ModTime: epoch}); err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "hoist", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin)), ModTime: epoch}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	tarBytes := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tarBytes)), nil },
		tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithCompressedCaching)
}

// checkStatic refuses a binary that is not a statically linked ELF file.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not a Linux executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s %w", path, ErrNotStatic)
		}
	}
	return nil
}

// Image is a demo image of version v on layer: entrypoint `/hoist demo-app`, exposed
// port 8080, and an exec-form HEALTHCHECK `/hoist demo-app -check` every second.
func Image(layer v1.Layer, v Version, labels map[string]string) (v1.Image, error) {
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "hoist demo: the hoist binary", Created: v1.Time{Time: time.Unix(0, 0)}}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	mode := v.Mode
	if mode == "" {
		mode = Healthy
	}
	cf.Config.Entrypoint = []string{"/hoist", "demo-app", "--mode=" + string(mode)}
	if mode == CrashAfter && v.CrashAfter > 0 {
		cf.Config.Entrypoint = append(cf.Config.Entrypoint, "--crash-after="+v.CrashAfter.String())
	}
	cf.Config.Env = []string{"APP_VERSION=" + v.Name}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cf.Config.Labels = map[string]string{}
	for k, val := range labels {
		cf.Config.Labels[k] = val
	}
	cf.Config.Labels["org.opencontainers.image.version"] = v.Name
	cf.Config.Healthcheck = &v1.HealthConfig{
		Test:     []string{"CMD", "/hoist", "demo-app", "-check"},
		Interval: time.Second, Timeout: 3 * time.Second, Retries: 3,
	}
	return mutate.ConfigFile(img, cf)
}

// PushAgent is in the User-Agent of the demo's own pushes, so the registry's notes
// tell them from hoist's digest checks.
const PushAgent = "hoist-demo-push"

// Push writes img under ref (a tag) and returns its digest.
func Push(ctx context.Context, ref string, img v1.Image) (v1.Hash, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx), remote.WithUserAgent(PushAgent)); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return img.Digest()
}

// Repush puts img's manifest under ref again, as `docker push` of an image the registry
// already has does (remote.Write would see the tag unchanged and send nothing).
func Repush(ctx context.Context, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	if err := remote.Put(tag, img, remote.WithContext(ctx), remote.WithUserAgent(PushAgent)); err != nil {
		return fmt.Errorf("push %s again: %w", ref, err)
	}
	return nil
}
