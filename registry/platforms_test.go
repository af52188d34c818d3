package registry

import (
	"context"
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func platformImage(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img := tinyImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type entryOf struct {
	p   v1.Platform
	img v1.Image
}

func index(t *testing.T, entries ...entryOf) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, e := range entries {
		adds = append(adds, mutate.IndexAddendum{Add: e.img, Descriptor: v1.Descriptor{Platform: &e.p}})
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

func TestSamePlatforms(t *testing.T) {
	tr := newTestRegistry(t, nil)
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}
	arm := v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	amdImg, armImg, armImg2 := platformImage(t, amd), platformImage(t, arm), platformImage(t, arm)

	old := tr.push(t, "app:v1", index(t, entryOf{amd, amdImg}, entryOf{arm, armImg}))
	armRebuilt := tr.push(t, "app:v2", index(t, entryOf{amd, amdImg}, entryOf{arm, armImg2}))
	amdOnly := tr.push(t, "app:v3", index(t, entryOf{amd, amdImg}))
	single := tr.push(t, "app:single", amdImg)
	repo := tr.ref(t, "app").Context()
	c := newTestClient(Options{})
	ctx := context.Background()

	for _, tc := range []struct {
		name      string
		old, new  v1.Hash
		platforms []v1.Platform
		same      bool
		missing   int
	}{
		{"only arm64 rebuilt, asking amd64", old, armRebuilt, []v1.Platform{amd}, true, 0},
		{"only arm64 rebuilt, asking arm64", old, armRebuilt, []v1.Platform{{OS: "linux", Architecture: "arm64"}}, false, 0},
		{"only arm64 rebuilt, asking both", old, armRebuilt, []v1.Platform{amd, arm}, false, 0},
		{"new lacks arm64", old, amdOnly, []v1.Platform{amd, arm}, false, 1},
		{"new lacks arm64, asking amd64", old, amdOnly, []v1.Platform{amd}, true, 0},
		{"index to single image", old, single, []v1.Platform{amd}, true, 0},
		{"no platforms: the host's", old, armRebuilt, nil, runtime.GOARCH != "arm64", 0},
	} {
		same, missing, err := c.SamePlatforms(ctx, repo, tc.old, tc.new, tc.platforms)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if same != tc.same || len(missing) != tc.missing {
			t.Errorf("%s: same %v, missing %v; want %v, %d missing", tc.name, same, missing, tc.same, tc.missing)
		}
		if tc.missing == 1 && !missing[0].Equals(arm) {
			t.Errorf("%s: missing %v, want %v", tc.name, missing, arm)
		}
	}
	// Digests are immutable: each manifest was fetched once.
	if g := tr.get.Load(); g != 4 {
		t.Errorf("requests %s; want 4 manifest GETs (one per digest)", tr.counts())
	}
}
