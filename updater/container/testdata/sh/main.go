// Command sh is the smallest shell the lifecycle tests need inside the test app's image:
// sh -c "touch PATH; sleep DURATION; exit N".
package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "-c" {
		os.Exit(2)
	}
	for _, cmd := range strings.Split(os.Args[2], ";") {
		f := strings.Fields(cmd)
		switch {
		case len(f) == 2 && f[0] == "touch":
			if err := os.WriteFile(f[1], []byte("done\n"), 0o644); err != nil {
				os.Exit(1)
			}
		case len(f) == 2 && f[0] == "sleep":
			d, _ := time.ParseDuration(f[1])
			time.Sleep(d)
		case len(f) == 2 && f[0] == "exit":
			n, _ := strconv.Atoi(f[1])
			os.Exit(n)
		case len(f) > 0:
			os.Exit(127)
		}
	}
}
