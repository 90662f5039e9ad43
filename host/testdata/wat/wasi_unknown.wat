;; Imports a WASI function that preview1 does not define.
(module
  (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "fgr_discover") (param i32 i32) (result i64) (i64.const 0)))
