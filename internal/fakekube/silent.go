package fakekube

import (
	"net"
	"sync"
)

// Silent accepts TCP connections on the loopback interface and never
// answers: a Kubernetes API behind a partition, as kubectl sees it (its
// requests wait for their timeout). It returns the host:port and a function
// that stops it and closes every connection.
func Silent() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().String(), func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}, nil
}
