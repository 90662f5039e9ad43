package execcap

// What a command leaves behind.
//
// Killing a command's process group does not reach a descendant that called
// setsid (or setpgid) to leave it. So the agent makes itself a child
// subreaper before its first command: such a descendant, once its parent
// has gone, is reparented to the agent instead of to init, and the agent
// kills it (killOrphans, after every command and from KillAll on the way
// out). What escapes a SIGKILL of the agent itself is in docs/RATIONALE.md
// ("Commands").

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var (
	subreaper sync.Once
	// commandsRan is set with the first command: before it, no orphan can
	// have been reparented to the agent, and KillAll has nothing to scan.
	commandsRan atomic.Bool

	// children guards the agent's own direct children: commands are
	// registered under its read lock as they are started, and killOrphans
	// takes it whole, so it never mistakes a command being started for an
	// orphan.
	children sync.RWMutex
	regMu    sync.Mutex
	leaders  = map[int]bool{} // running commands, by leader pid (= pgid)
	spared   = map[int]bool{} // children started on purpose to outlive the agent's commands
)

func becomeSubreaper() {
	subreaper.Do(func() {
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		commandsRan.Store(true)
	})
}

// Spare marks a direct child of the agent that is not a command and must
// not be taken for an orphan (a compile running in the background).
func Spare(pid int) {
	regMu.Lock()
	spared[pid] = true
	regMu.Unlock()
}

// KillAll kills the process group of every command still running and every
// orphan reparented to the agent. The agent calls it on every exit path it
// controls; a run that started no command (metadata, discovery off) skips
// the scan of /proc, a hundred system calls.
func KillAll() {
	regMu.Lock()
	for pgid := range leaders {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	regMu.Unlock()
	if commandsRan.Load() {
		killOrphans()
	}
}

// killOrphans kills and reaps the agent's children that it did not start:
// descendants of its commands reparented to it. Only a child outside the
// agent's own process group can be one (a command's descendants start in
// the command's group and escaped it to get here); of those, children
// running the agent's own executable are left alone (the detached completion
// process and background compiles are the agent's, started outside this
// package).
// Killing an orphan reparents its own children to the agent in turn, so it
// repeats until none is left.
func killOrphans() {
	children.Lock()
	defer children.Unlock()
	self, _ := os.Executable()
	for round := 0; round < 64; round++ {
		var found []int
		for _, pid := range childPids() {
			regMu.Lock()
			mine := leaders[pid] || spared[pid]
			regMu.Unlock()
			if mine || inOwnGroup(pid) || (self != "" && exeOf(pid) == self) {
				continue
			}
			found = append(found, pid)
		}
		if len(found) == 0 {
			return
		}
		for _, pid := range found {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range found {
			reap(pid)
		}
	}
}

// reap collects a killed orphan, waiting a little for it to die (a process
// in uninterruptible sleep may take longer; it is then left a zombie).
func reap(pid int) {
	deadline := time.Now().Add(time.Second)
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if got == pid || err != nil || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// childPids lists the agent's direct children (every thread's: the kernel
// keeps children per thread).
func childPids() []int {
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}

func inOwnGroup(pid int) bool {
	pgid, err := syscall.Getpgid(pid)
	return err == nil && pgid == syscall.Getpgrp()
}

func exeOf(pid int) string {
	p, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return ""
	}
	return p
}
