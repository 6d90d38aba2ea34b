//go:build !linux

package api

import "net"

// peerUID returns -1: peer credentials are read on Linux only.
func peerUID(c *net.UnixConn) int { return -1 }
