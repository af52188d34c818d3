package webhook

import (
	"encoding/json"
	"fmt"

	"github.com/hoist-dev/hoist/registry"
)

// Artifact Registry publishes to the Pub/Sub topic gcr; a push subscription wraps
// each message in an envelope with base64 data and a messageId (used for dedupe).
// Unwrapped delivery (the raw message data as body) is accepted too. Only INSERT
// with a tag is a hint: digest-only inserts and DELETE are dropped.
type pubsubEnvelope struct {
	Message *struct {
		Data      []byte `json:"data"`
		MessageID string `json:"messageId"`
		// message_id is the same value; Pub/Sub sends both.
		MessageIDSnake string `json:"message_id"`
	} `json:"message"`
	garMessage
}

type garMessage struct {
	Action string `json:"action"`
	Digest string `json:"digest"`
	Tag    string `json:"tag"`
}

// parseGAR reads a Pub/Sub push of an Artifact Registry notification.
func parseGAR(body []byte) ([]registry.PushEvent, error) {
	var env pubsubEnvelope
	if err := decode(body, &env); err != nil {
		return nil, err
	}
	msg, id := env.garMessage, ""
	if m := env.Message; m != nil {
		id = m.MessageID
		if id == "" {
			id = m.MessageIDSnake
		}
		msg = garMessage{}
		if err := json.Unmarshal(m.Data, &msg); err != nil {
			return nil, fmt.Errorf("%w: message.data: %v", errMalformed, err)
		}
	}
	if msg.Action != "INSERT" || msg.Tag == "" {
		return nil, nil
	}
	host, path, tag, ok := splitTagged(msg.Tag)
	if !ok {
		return nil, fmt.Errorf("%w: tag %q is not host/path:tag", errBadName, msg.Tag)
	}
	ev, err := newEvent(host, path, tag, id)
	if err != nil {
		return nil, err
	}
	return []registry.PushEvent{ev}, nil
}
