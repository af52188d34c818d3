package apiclient

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

// ErrAPIOff means the config sets no api.token: there is no API to ask.
var ErrAPIOff = errors.New("api.token is not set: the API is off")

// maxAnswer bounds the body of an answer read.
const maxAnswer = 16 << 20

// Client calls the API of one running hoist serve.
type Client struct {
	base  string // http://host:port
	token string
	http  *http.Client
}

// New reaches the hoist serve at base (http://host:port) with the API token. dial
// bounds the connection alone; an answer may take long (a rollback waits for
// convergence), so ctx bounds each call.
func New(base, token string, dial time.Duration) *Client {
	return &Client{
		base:  strings.TrimRight(base, "/"),
		token: token,
		http:  &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: dial}).DialContext}},
	}
}

// ForConfig reaches the hoist serve of cfg: at server when set, else at its listen:
// address. It returns ErrAPIOff when cfg sets no api.token.
func ForConfig(cfg *config.Config, server string, dial time.Duration) (*Client, error) {
	if !cfg.API.Token.IsSet() {
		return nil, ErrAPIOff
	}
	if server == "" {
		server = ServerURL(cfg)
	}
	return New(server, cfg.API.Token.Value(), dial), nil
}

// ServerURL is where the running hoist serve of cfg answers, from listen:.
func ServerURL(cfg *config.Config) string {
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// URL is the address the client reaches.
func (c *Client) URL() string { return c.base }

// Do sends method path and returns the answer's body when its status is 2xx. Nothing
// listening is a *NoServerError, a refused token a *TokenRefusedError, any other
// answer outside 2xx an *AnswerError.
func (c *Client) Do(ctx context.Context, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &NoServerError{URL: c.base, Err: err}
		}
		return nil, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read the answer of %s: %w", c.base, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, &TokenRefusedError{URL: c.base, Answer: answerOf(resp.StatusCode, b)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, answerOf(resp.StatusCode, b)
	}
	return b, nil
}

// Call sends method path and decodes the JSON answer into out (nil: the answer is not
// read). An error answer says which call it was.
func (c *Client) Call(ctx context.Context, method, path string, out any) error {
	b, err := c.Do(ctx, method, path)
	var ae *AnswerError
	if errors.As(err, &ae) {
		return fmt.Errorf("the running hoist at %s answered %s %s with %w", c.base, method, path, err)
	}
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode the answer of %s to %s %s: %w", c.base, method, path, err)
	}
	return nil
}

// Get decodes the JSON answer to GET path into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.Call(ctx, http.MethodGet, path, out)
}

// Healthy reports whether the server answers GET /healthz with 200 within a second.
func (c *Client) Healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
