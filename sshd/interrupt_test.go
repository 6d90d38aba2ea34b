package sshd

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"
)

// Ctrl+C cancels and is not passed on; the bytes around it are.
func TestInterruptReaderCtrlC(t *testing.T) {
	var wg sync.WaitGroup
	interrupted := make(chan struct{}, 1)
	ir := watchInterrupts(bytes.NewReader([]byte("abc\x03def")), &wg, func() { interrupted <- struct{}{} })
	got, err := io.ReadAll(ir)
	wg.Wait()
	if err != nil || string(got) != "abc" {
		t.Fatalf("read %q, %v; want the bytes before Ctrl+C", got, err)
	}
	select {
	case <-interrupted:
	default:
		t.Fatal("Ctrl+C did not interrupt")
	}
}

// More input typed ahead than the buffer holds, never read by the command:
// close (the exec returned) ends the pump, so the session's handler does
// not wait on it forever.
func TestInterruptReaderCloseWhileFull(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() { _, _ = pw.Write(make([]byte, 2*maxPending)) }()
	var wg sync.WaitGroup
	ir := watchInterrupts(pr, &wg, func() {})
	time.Sleep(50 * time.Millisecond) // let the pump fill the buffer
	ir.close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the pump still waits for room after close")
	}
}
