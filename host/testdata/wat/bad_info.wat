;; fgr_info with the wrong signature.
(module
  (memory (export "memory") 1)
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "fgr_discover") (param i32 i32) (result i64) (i64.const 0))
  (func (export "fgr_info") (result i32) (i32.const 0)))
