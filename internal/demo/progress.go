package demo

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Progress writes the demo's lines. While a step takes a while, a live line says what
// it waits for: on a terminal it is redrawn in place with the time so far; elsewhere
// it is printed as a plain line once it has stood for a second (quick steps print none).
type Progress struct {
	w   io.Writer
	tty bool

	mu      sync.Mutex
	text    string    // the live line; "" when none
	since   time.Time // when the live line appeared
	textAt  time.Time // when its text last changed
	printed string    // off a terminal: the text last printed
	spin    int
	stop    chan struct{}
}

// plainAfter is how long a live text stands before it is printed off a terminal.
const plainAfter = time.Second

// NewProgress writes to w; it draws live lines when w is a terminal.
func NewProgress(w io.Writer) *Progress {
	return &Progress{w: w, tty: IsTerminal(w)}
}

// IsTerminal reports whether w is a character device such as a terminal.
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Printf prints a line that stays; a live line is drawn again below it.
func (p *Progress) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
	p.draw()
}

// Live shows text as the live line; an empty text ends it.
func (p *Progress) Live(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if text == p.text {
		return
	}
	if text == "" {
		p.clear()
		p.text, p.printed = "", ""
		if p.stop != nil {
			close(p.stop)
			p.stop = nil
		}
		return
	}
	now := time.Now()
	if p.text == "" {
		p.since = now
	}
	p.text, p.textAt = text, now
	p.draw()
	if p.stop == nil {
		p.stop = make(chan struct{})
		go p.tick(p.stop)
	}
}

// Done ends the live line.
func (p *Progress) Done() { p.Live("") }

func (p *Progress) tick(stop chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		select {
		case <-stop: // ended while this tick waited for the lock
		default:
			p.spin++
			if p.tty {
				p.draw()
			} else if p.text != p.printed && time.Since(p.textAt) >= plainAfter {
				fmt.Fprintf(p.w, "  … %s\n", p.text)
				p.printed = p.text
			}
		}
		p.mu.Unlock()
	}
}

func (p *Progress) draw() {
	if !p.tty || p.text == "" {
		return
	}
	spinner := `|/-\`
	fmt.Fprintf(p.w, "\r\x1b[K  %c %s  %.1fs", spinner[p.spin%len(spinner)], p.text, time.Since(p.since).Seconds())
}

func (p *Progress) clear() {
	if p.tty && p.text != "" {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
