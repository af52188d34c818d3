package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// ConfigStatus says which configuration file hoist runs and how its last reload went.
type ConfigStatus struct {
	File string `json:"file"`
	// Loaded is when the configuration in force was read: at start, or by the last
	// reload that succeeded.
	Loaded time.Time `json:"loaded"`
	// LastReload is absent until a reload was asked for (SIGHUP, or a change to the
	// file with --watch-config).
	LastReload *ConfigReload `json:"last_reload,omitempty"`
}

// ConfigReload is the result of one reload.
type ConfigReload struct {
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger"` // sighup | file-changed
	Success bool      `json:"success"`
	// Error says why the file was refused, each problem with its file:line; the
	// running configuration was kept.
	Error string `json:"error,omitempty"`
	// NeedsRestart names the changed keys a reload does not apply (listen, data_dir…):
	// their running values are kept until hoist restarts.
	NeedsRestart []string `json:"needs_restart,omitempty"`
}

// WithConfigStatus exposes the configuration's reload status at GET
// /api/v1/config/status; f must not block.
func (s *Server) WithConfigStatus(f func() ConfigStatus) *Server {
	s.config = f
	return s
}

func (s *Server) configStatus(c echo.Context) error {
	return c.JSON(http.StatusOK, s.config())
}
