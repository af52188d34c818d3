package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// checkView is how hoist check prints what it found.
type checkView struct {
	json  bool // JSON instead of a table
	all   bool // workloads no policy governs too
	wide  bool // whole digests on a terminal
	short bool // cut digests (set for a terminal without --wide)
}

// print writes the statuses v shows to stdout, and to stderr how many it left out.
func (v checkView) print(stdout, stderr io.Writer, sts []updater.Status) error {
	shown, hidden := sts, 0
	if !v.all {
		shown = make([]updater.Status, 0, len(sts))
		for _, st := range sts {
			if governed(st) {
				shown = append(shown, st)
			}
		}
		hidden = len(sts) - len(shown)
	}
	if err := v.table(stdout, shown); err != nil {
		return err
	}
	switch {
	case hidden > 0:
		fmt.Fprintf(stderr, "%d of %d workloads governed by no policy are not shown (--all lists them, with why)\n", hidden, len(sts))
	case len(sts) == 0:
		fmt.Fprintln(stderr, "no workloads found")
	}
	return nil
}

// governed reports whether a status belongs in the default listing: a policy governs the
// workload, or a label opts it into a policy the file lacks (a mistake to show).
func governed(st updater.Status) bool {
	if st.Action != updater.NoPolicy {
		return true
	}
	want, ok := st.Workload.Labels[policy.LabelPolicy]
	return ok && want != "none"
}

func (v checkView) table(w io.Writer, sts []updater.Status) error {
	if v.json {
		return writeJSON(w, sts)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tPOLICY\tIMAGE\tACTION\tTARGET / REASON")
	for _, st := range sts {
		detail := st.Target
		if st.Action != updater.WouldUpdate {
			detail = st.Reason
		}
		if st.Action == updater.UpToDate {
			detail = ""
		}
		if st.Choice != "" {
			detail = strings.TrimPrefix(detail+"; "+st.Choice, "; ")
		}
		if sig := st.Signature; sig != nil && sig.State == updater.SignatureVerified {
			detail = strings.TrimPrefix(detail+"; signed by "+strings.Join(sig.By, ", "), "; ")
		}
		if c := st.Workload.Compose; c != "" { // compose would bring another image back
			detail = strings.TrimPrefix(detail+"; "+c, "; ")
		}
		pol := st.Policy
		if pol == "" {
			pol = "-"
		}
		// Names, images and reasons come from the engine and registries: cell shows
		// their control and bidi characters as escapes.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(st.Workload.Key()), cell(pol), cell(v.digests(st.Workload.Image)), st.Action, cell(v.digests(detail)))
	}
	return tw.Flush()
}

// longDigest is a sha256 digest written whole.
var longDigest = regexp.MustCompile(`sha256:([0-9a-f]{12})[0-9a-f]{52}`)

// digests cuts the digests in s to 12 hex digits when v is short.
func (v checkView) digests(s string) string {
	if !v.short {
		return s
	}
	return longDigest.ReplaceAllString(s, "sha256:$1")
}

// isTerminal reports whether w is a character device (a terminal), not a pipe or file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
