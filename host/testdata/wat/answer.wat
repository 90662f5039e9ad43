;; A complete ABI v1 guest without the Go SDK or WASI: it answers a fixed
;; filesystem. Proves the ABI is language-neutral and that _initialize is
;; optional.
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\"filesystems\":[\"wat/fixed\"],\"details\":{\"lang\":\"wat\"}}")
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param $size i32) (result i32) (i32.const 4096))
  (func (export "fgr_discover") (param $req_ptr i32) (param $req_len i32) (result i64)
    ;; (1024 << 32) | 54, the length of the data above
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 54))))
