package demo

import (
	"archive/tar"
	"errors"
	"io"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// A dynamically linked binary cannot be the images' only layer: there is no C
// library in them.
func TestLayerRefusesDynamicBinary(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh to try Layer on: %v", err)
	}
	if _, err := Layer(sh); !errors.Is(err, ErrNotStatic) {
		t.Fatalf("Layer(%s): %v, want ErrNotStatic", sh, err)
	}
}

func TestImageConfig(t *testing.T) {
	img, err := Image(fakeLayer(t), Version{Name: "v3", Mode: CrashAfter, CrashAfter: 8 * time.Second}, map[string]string{"hoist.demo": "x"})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || !slices.Equal(c.Entrypoint, []string{"/hoist", "demo-app", "--mode=crash-after", "--crash-after=8s"}) ||
		!slices.Equal(c.Env, []string{"APP_VERSION=v3"}) || c.Labels["hoist.demo"] != "x" ||
		c.Healthcheck == nil || !slices.Equal(c.Healthcheck.Test, []string{"CMD", "/hoist", "demo-app", "-check"}) {
		t.Fatalf("config %+v", cf)
	}
	other, _ := Image(fakeLayer(t), Version{Name: "v4"}, nil)
	d1, _ := img.Digest()
	d2, _ := other.Digest()
	if d1 == d2 {
		t.Fatal("two versions share a digest")
	}
	// One layer: the binary, executable, and a /tmp for the app's address file.
	ls, _ := img.Layers()
	if len(ls) != 1 {
		t.Fatalf("%d layers, want 1", len(ls))
	}
	rc, _ := ls[0].Uncompressed()
	defer rc.Close()
	tr := tar.NewReader(rc)
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		modes[h.Name] = h.Mode
	}
	if modes["hoist"] != 0o755 || modes["tmp/"] != 0o1777 || len(modes) != 2 {
		t.Fatalf("layer files and modes %v", modes)
	}
}
