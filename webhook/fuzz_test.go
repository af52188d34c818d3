package webhook

import (
	"path/filepath"
	"testing"
)

// fuzzParser seeds f with every fixture of source and checks that parse never panics
// and never yields an event whose repository does not parse back or whose tag is invalid.
func fuzzParser(f *testing.F, source string, parse parseFunc) {
	files, _ := filepath.Glob(filepath.Join("testdata", source, "*.json"))
	if len(files) == 0 {
		f.Fatalf("no fixtures for %s", source)
	}
	for _, file := range files {
		f.Add(fixture(f, source, filepath.Base(file[:len(file)-len(".json")])))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := parse(body)
		if err != nil && len(evs) > 0 {
			t.Fatalf("events with an error: %v", err)
		}
		checkEvents(t, evs)
	})
}

func FuzzParseDockerHub(f *testing.F)    { fuzzParser(f, "dockerhub", parseDockerHub) }
func FuzzParseDistribution(f *testing.F) { fuzzParser(f, "distribution", parseDistribution) }
func FuzzParseGHCR(f *testing.F)         { fuzzParser(f, "ghcr", parseGHCR) }
func FuzzParseQuay(f *testing.F)         { fuzzParser(f, "quay", parseQuay) }
func FuzzParseHarbor(f *testing.F)       { fuzzParser(f, "harbor", parseHarbor) }
func FuzzParseGitea(f *testing.F)        { fuzzParser(f, "gitea", parseGitea) }
func FuzzParseACR(f *testing.F)          { fuzzParser(f, "acr", parseACR) }
func FuzzParseJFrog(f *testing.F)        { fuzzParser(f, "jfrog", parseJFrog) }
func FuzzParseGAR(f *testing.F)          { fuzzParser(f, "gar", parseGAR) }
func FuzzParseECR(f *testing.F)          { fuzzParser(f, "ecr", parseECR) }
func FuzzParseGeneric(f *testing.F)      { fuzzParser(f, "generic", parseGeneric) }
