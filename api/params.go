package api

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// Rollouts come newest first, limit at a time.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// limitParam reads ?limit=: absent means defaultLimit, else an integer 1..maxLimit.
func limitParam(v string) (int, error) {
	if v == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit || strings.HasPrefix(v, "+") {
		return 0, problem(http.StatusBadRequest, "invalid-parameter",
			"limit "+strconv.Quote(cut(v))+": write a whole number from 1 to "+strconv.Itoa(maxLimit))
	}
	return n, nil
}

// digestRE is the only digest form hoist resolves and approves.
var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// digestParam reads ?digest=: absent approves whatever waits now, else sha256:<64 hex>.
func digestParam(v string) (string, error) {
	if v != "" && !digestRE.MatchString(v) {
		return "", problem(http.StatusBadRequest, "invalid-parameter",
			"digest "+strconv.Quote(cut(v))+": write sha256: and 64 lowercase hex digits")
	}
	return v, nil
}

// maxName is the longest workload name taken (Swarm allows 63, container names a little
// more in practice).
const maxName = 128

// nameRE is what the engine allows in service and container names.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// workloadKey returns "<kind>/<name>" from the path, validated.
func workloadKey(c echo.Context) (string, error) {
	return checkedKey(c.Param("kind"), c.Param("name"))
}

// checkKey validates a "<kind>/<name>" written whole (the rollouts filter).
func checkKey(key string) error {
	kind, name, ok := strings.Cut(key, "/")
	if !ok {
		return problem(http.StatusBadRequest, "invalid-parameter",
			"workload "+strconv.Quote(cut(key))+": write KIND/NAME, e.g. service/web")
	}
	_, err := checkedKey(kind, name)
	return err
}

func checkedKey(kind, name string) (string, error) {
	if kind != "service" && kind != "container" {
		return "", problem(http.StatusBadRequest, "invalid-parameter",
			"kind "+strconv.Quote(cut(kind))+": kind must be service or container")
	}
	switch {
	case name == "":
		return "", problem(http.StatusBadRequest, "invalid-parameter", "the workload name is empty: write "+kind+"/NAME")
	case len(name) > maxName || !nameRE.MatchString(name):
		return "", problem(http.StatusBadRequest, "invalid-parameter",
			"name "+strconv.Quote(cut(name))+": a "+kind+" name is letters, digits, '_', '.' and '-', at most "+strconv.Itoa(maxName)+" characters")
	}
	return kind + "/" + name, nil
}
