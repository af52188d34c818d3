package registry

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestListTagsPaginatedAndCached(t *testing.T) {
	tr := newTestRegistry(t, func(tr *testRegistry) { tr.pageSize = 3 })
	img := tinyImage(t)
	var want []string
	for i := range 10 {
		tag := fmt.Sprintf("1.%02d.0", i)
		tr.push(t, "app:"+tag, img)
		want = append(want, tag)
	}
	repo := tr.ref(t, "app").Context()
	c := newTestClient(Options{})
	ctx := context.Background()

	got, err := c.ListTags(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	if n := tr.tags.Load(); n != 4 {
		t.Errorf("%d tag list requests, want 4 pages of 3", n)
	}

	// Within maxAge: no request. Past it, or forgotten: listed again.
	if got, err := c.ListTagsCached(ctx, repo, time.Hour); err != nil || len(got) != 10 {
		t.Errorf("cached: %v, %v", got, err)
	}
	if n := tr.tags.Load(); n != 4 {
		t.Errorf("cached list sent requests: %d", n)
	}
	tr.push(t, "app:2.0.0", img)
	c.ForgetTags(repo)
	got, err = c.ListTagsCached(ctx, repo, time.Hour)
	if err != nil || len(got) != 11 || tr.tags.Load() != 8 {
		t.Errorf("after ForgetTags: %d tags, %v, %d requests; want 11 tags in 4 more pages", len(got), err, tr.tags.Load())
	}
	if got, _ := c.ListTagsCached(ctx, repo, 0); len(got) != 11 || tr.tags.Load() != 12 {
		t.Errorf("maxAge 0 should list again: %d requests", tr.tags.Load())
	}
}
