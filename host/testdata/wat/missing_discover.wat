;; No fgr_discover export.
(module
  (memory (export "memory") 1)
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param i32) (result i32) (i32.const 4096)))
