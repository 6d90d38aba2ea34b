package sshd

import (
	"bytes"
	"io"
	"sync"
)

// ctrlC is what Ctrl+C sends from a terminal in raw mode.
const ctrlC = 0x03

// maxPending bounds the input an exec has not read yet (typed ahead).
const maxPending = 1 << 20

// interruptReader is an exec's input when the client asked for a
// terminal (ssh -t box tail orders -f). The client's terminal is raw then,
// so Ctrl+C arrives as the byte 0x03, not as a signal: the reader's pump
// cancels the command on it (as SIGINT does locally) and passes the rest
// on. The pump reads ahead into a bounded buffer so that a command that
// never reads its input (tail -f) still sees Ctrl+C.
type interruptReader struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  bytes.Buffer
	err  error // the source's error (io.EOF), after the buffer drains
}

// watchInterrupts starts the pump from r, owned by wg; interrupt runs on
// Ctrl+C. The pump ends when r does (the session's channel closes when the
// exec exits).
func watchInterrupts(r io.Reader, wg *sync.WaitGroup, interrupt func()) *interruptReader {
	ir := &interruptReader{}
	ir.cond = sync.NewCond(&ir.mu)
	wg.Add(1)
	go func() {
		defer wg.Done()
		ir.pump(r, interrupt)
	}()
	return ir
}

func (ir *interruptReader) pump(r io.Reader, interrupt func()) {
	chunk := make([]byte, 4096)
	for {
		n, err := r.Read(chunk)
		b := chunk[:n]
		if i := bytes.IndexByte(b, ctrlC); i >= 0 {
			interrupt()
			b = b[:i]
		}
		ir.mu.Lock()
		for ir.buf.Len()+len(b) > maxPending && ir.err == nil {
			ir.cond.Wait()
		}
		if ir.err != nil { // closed: the exec ended
			ir.mu.Unlock()
			return
		}
		ir.buf.Write(b)
		if err != nil {
			ir.err = err
		}
		ir.cond.Broadcast()
		ir.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Read implements io.Reader for the exec.
func (ir *interruptReader) Read(p []byte) (int, error) {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	for ir.buf.Len() == 0 && ir.err == nil {
		ir.cond.Wait()
	}
	if ir.buf.Len() > 0 {
		n, _ := ir.buf.Read(p)
		ir.cond.Broadcast()
		return n, nil
	}
	return 0, ir.err
}

// close ends the pump once the exec returned, even one waiting for room
// (input typed ahead that the command never read), so that the session's
// handler does not wait on it.
func (ir *interruptReader) close() {
	ir.mu.Lock()
	if ir.err == nil {
		ir.err = io.ErrClosedPipe
	}
	ir.cond.Broadcast()
	ir.mu.Unlock()
}
