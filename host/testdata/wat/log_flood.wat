;; Calls fgr.log with one short line, for ever: only the timeout ends it.
(module
  (import "fgr" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "flood line from a hostile guest")
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "fgr_discover") (param i32 i32) (result i64)
    (loop $again
      (call $log (i32.const 0) (i32.const 1024) (i32.const 31))
      (br $again))
    (i64.const 0)))
