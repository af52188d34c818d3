package webhook

import (
	"errors"
	"fmt"
)

// MaxEvents is the most entries a delivery may list: no JSON array or object in a
// webhook body may hold more (Distribution's events, Harbor's resources, Quay's
// updated_tags, and anything a sender adds). A body within limits.max_body can
// otherwise expand a hundredfold when decoded: a MiB of "{}," is 349,000 events.
const MaxEvents = 1000

// maxDepth is how deeply a body may nest, encoding/json's own limit.
const maxDepth = 10000

// errTooMany refuses a body listing more than MaxEvents entries somewhere.
var errTooMany = errors.New("too many events")

// checkEntries counts the entries of every array and object in body without
// decoding it (no allocation but one counter per nesting level) and refuses the body
// as soon as one holds more than MaxEvents. It does not validate the JSON: the
// decoder that runs next does, before it allocates anything.
func checkEntries(body []byte) error {
	var commas []int32 // per open array or object: separators seen so far
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			i = stringEnd(body, i)
		case '[', '{':
			if len(commas) == maxDepth {
				return fmt.Errorf("%w: nested more than %d levels deep", errMalformed, maxDepth)
			}
			commas = append(commas, 0)
		case ']', '}':
			if len(commas) > 0 {
				commas = commas[:len(commas)-1]
			}
		case ',':
			if n := len(commas); n > 0 {
				commas[n-1]++
				if commas[n-1] >= MaxEvents { // entries = separators + 1
					return fmt.Errorf("%w: a list in the body holds more than %d entries", errTooMany, MaxEvents)
				}
			}
		}
	}
	return nil
}

// stringEnd returns the index of the quote closing the string opened at body[open],
// or the last index when it is not closed.
func stringEnd(body []byte, open int) int {
	for i := open + 1; i < len(body); i++ {
		switch body[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(body) - 1
}
