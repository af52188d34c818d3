package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/config"
)

// errAPIOff means the config sets no api.token: there is no API to ask.
var errAPIOff = errors.New("api.token is not set: the API is off")

// apiClient calls the /api/v1 of the running hoist serve.
type apiClient struct {
	base  string // http://host:port
	token string
	http  *http.Client
}

// newAPIClient reaches the hoist serve of cfg: at server when set, else at listen:.
// dial bounds the connection alone; an answer may take long (a rollback waits for
// convergence).
func newAPIClient(cfg *config.Config, server string, dial time.Duration) (*apiClient, error) {
	if !cfg.API.Token.IsSet() {
		return nil, errAPIOff
	}
	if server == "" {
		server = serverURL(cfg)
	}
	return &apiClient{
		base:  strings.TrimRight(server, "/"),
		token: cfg.API.Token.Value(),
		http:  &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: dial}).DialContext}},
	}, nil
}

// noServerError means nothing answered at the address: no hoist serve runs there.
type noServerError struct {
	URL string
	Err error
}

func (e *noServerError) Error() string {
	return fmt.Sprintf("no hoist answered at %s: %v", e.URL, e.Err)
}

func (e *noServerError) Unwrap() error { return e.Err }

// tokenRefusedError means a server answered and refused the API token (401 or 403).
type tokenRefusedError struct {
	URL     string
	Status  int
	Message string
}

func (e *tokenRefusedError) Error() string {
	return fmt.Sprintf("the running hoist at %s refused the API token: %s (HTTP %d); api.token must be the one hoist serve was started with",
		e.URL, e.Message, e.Status)
}

// answerError is any other answer than 2xx: what the server said, and its status.
type answerError struct {
	Status  int
	Message string
}

func (e *answerError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// do sends method path and returns the answer's body when its status is 2xx.
func (a *apiClient) do(ctx context.Context, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &noServerError{URL: a.base, Err: err}
		}
		return nil, fmt.Errorf("%s %s: %w", method, a.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read the answer of %s: %w", a.base, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, &tokenRefusedError{URL: a.base, Status: resp.StatusCode, Message: errorMessage(b)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, &answerError{Status: resp.StatusCode, Message: errorMessage(b)}
	}
	return b, nil
}

// get decodes the JSON answer to GET path into out.
func (a *apiClient) get(ctx context.Context, path string, out any) error {
	b, err := a.do(ctx, http.MethodGet, path)
	var ae *answerError
	if errors.As(err, &ae) {
		return fmt.Errorf("the running hoist at %s answered GET %s with %w", a.base, path, err)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode the answer of %s to GET %s: %w", a.base, path, err)
	}
	return nil
}

// errorMessage is what an error answer says: an RFC 9457 problem's detail or title,
// a {"message"} or {"error"}, else the text itself (cut).
func errorMessage(b []byte) string {
	var body struct {
		Detail  string `json:"detail"`
		Title   string `json:"title"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil {
		for _, s := range []string{body.Detail, body.Message, body.Error, body.Title} {
			if s != "" {
				return oneLine(s)
			}
		}
	}
	if s := oneLine(string(b)); s != "" {
		return s
	}
	return "no message"
}

// serverURL is where the running hoist serve of cfg answers, from listen:.
func serverURL(cfg *config.Config) string {
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
