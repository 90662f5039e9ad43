;; Sleeps an hour in poll_oneoff (a clock subscription), again and again,
;; without any Go runtime: only the host can end the sleep.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "fgr_discover") (param i32 i32) (result i64)
    ;; subscription at 0: userdata 0, tag 0 (clock), clock id 1 (monotonic),
    ;; timeout at offset 24: one hour in ns, relative (flags 0).
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 3600000000000))
    (loop $again
      (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
      (br $again))
    (i64.const 0)))
