package main

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the signal goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInterruptContext: the first signal cancels the context with a
// message and does not exit; the second exits with 130 at once.
func TestInterruptContext(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	var stderr syncBuffer
	exited := make(chan int, 1)
	ctx := interruptContext(sigs, &stderr, func(code int) { exited <- code })
	sigs <- syscall.SIGINT
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
		t.Fatal("the first signal did not cancel the context")
	}
	select {
	case code := <-exited:
		t.Fatalf("exited with %d after one signal", code)
	case <-time.After(50 * time.Millisecond):
	}
	if !strings.Contains(stderr.String(), "interrupt received: stopping at the next safe point (a second Ctrl-C quits at once)") {
		t.Errorf("first message: %q", stderr.String())
	}
	sigs <- syscall.SIGTERM
	select {
	case code := <-exited:
		if code != 130 {
			t.Errorf("exit code %d, want 130", code)
		}
	case <-time.After(time.Minute):
		t.Fatal("the second signal did not exit")
	}
	if !strings.Contains(stderr.String(), "second interrupt: quitting now") {
		t.Errorf("second message: %q", stderr.String())
	}
}
