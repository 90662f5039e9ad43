;; Exercises fgr.exec and the buf_limit contract of fgr.take by hand:
;; take(buf, 0) must report the length without copying, take(buf, len) must
;; copy and clear, and a third take must report no pending frame. Answers
;; "take/ok" only if every step behaved, else an error naming the step.
(module
  (import "fgr" "exec" (func $exec (param i32 i32) (result i32)))
  (import "fgr" "take" (func $take (param i32 i32) (result i32)))
  (import "fgr" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  ;; exec request, 26 bytes
  (data (i32.const 256) "{\"name\":\"hello\",\"args\":[]}")
  (data (i32.const 512) "{\"filesystems\":[\"take/ok\"]}")          ;; 27 bytes
  (data (i32.const 600) "{\"error\":\"take: length probe copied\"}")  ;; 37 bytes
  (data (i32.const 700) "{\"error\":\"take: copy length wrong\"}")    ;; 35 bytes
  (data (i32.const 800) "{\"error\":\"take: frame not cleared\"}")    ;; 35 bytes
  (data (i32.const 900) "{\"error\":\"take: stdout is not hi\"}")     ;; 34 bytes
  (data (i32.const 1000) "taking")
  (func (export "fgr_abi_version") (result i32) (i32.const 1))
  (func (export "fgr_alloc") (param i32) (result i32) (i32.const 8192))
  (func $packed (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  (func (export "fgr_discover") (param i32 i32) (result i64)
    (local $n i32)
    (call $log (i32.const 0) (i32.const 1000) (i32.const 6))
    (local.set $n (call $exec (i32.const 256) (i32.const 26)))
    ;; poison the first byte of the buffer; a probe must not overwrite it
    (i32.store8 (i32.const 4096) (i32.const 0x5a))
    (if (i32.ne (call $take (i32.const 4096) (i32.const 0)) (local.get $n))
      (then (return (call $packed (i32.const 700) (i32.const 35)))))
    (if (i32.ne (i32.load8_u (i32.const 4096)) (i32.const 0x5a))
      (then (return (call $packed (i32.const 600) (i32.const 37)))))
    (if (i32.ne (call $take (i32.const 4096) (local.get $n)) (local.get $n))
      (then (return (call $packed (i32.const 700) (i32.const 35)))))
    (if (i32.ne (call $take (i32.const 4096) (local.get $n)) (i32.const 0))
      (then (return (call $packed (i32.const 800) (i32.const 35)))))
    ;; exit code 0 and stdout "hi\n" right after the 20-byte header
    (if (i32.or
          (i32.ne (i32.load (i32.const 4096)) (i32.const 0))
          (i32.ne (i32.load8_u (i32.const 4117)) (i32.const 0x69)))
      (then (return (call $packed (i32.const 900) (i32.const 34)))))
    (call $packed (i32.const 512) (i32.const 27))))
