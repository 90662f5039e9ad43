;; Needs 80 MiB of linear memory from the start: over the 64 MiB default
;; memory_limit, fine under 128 MiB.
(module
  (memory (export "memory") 1280)
  (data (i32.const 1024) "{\"filesystems\":[\"wat/big\"]}")
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param $size i32) (result i32) (i32.const 4096))
  (func (export "fgr_discover") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 27))))
