;; wat-list: a site discovery strategy written by hand in WebAssembly text,
;; from docs/ABI.md alone: no SDK, no WASI, no runtime. It runs the granted
;; command "site-list" with the target node as its one argument and answers
;; the lines the command prints as the node's filesystems.
;;
;;   {"abi":1,"strategy":..,"node":"compute-node-3",..}   request (host)
;;   fgr.exec {"name":"site-list","args":["compute-node-3"]}
;;   fgr.take -> exec result frame: exit code, flags, stdout
;;   {"filesystems":["proj-gfs2","scratch"]}              response
;;
;; Memory map (one 64 KiB page, grown for large requests or outputs):
;;   0..1023       constant strings (data segments below)
;;   1024..4095    the exec request and the response are built here
;;   4096..        the request buffer (fgr_alloc), then the result frame
(module
  (import "fgr" "exec" (func $exec (param i32 i32) (result i32)))
  (import "fgr" "take" (func $take (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 0) "\"node\"")                                   ;; 6 bytes
  (data (i32.const 16) "{\"name\":\"site-list\",\"args\":[\"")           ;; 29 bytes
  (data (i32.const 64) "{\"filesystems\":[")                          ;; 16 bytes
  (data (i32.const 96) "{\"error\":\"site-list failed or printed a name that is not plain text\"}") ;; 69 bytes
  (data (i32.const 192) "{\"error\":\"the request has no node\"}")  ;; 35 bytes
  (data (i32.const 256) "{\"name\":\"wat-list\",\"strategies\":[\"wat-list\"],\"commands\":{\"wat-list\":[[\"site-list\"]]},\"sdk\":\"hand-written wat\",\"abi\":1}") ;; 118 bytes

  (global $req_end (mut i32) (i32.const 4096)) ;; end of the request buffer

  (func (export "fgr_abi_version") (result i32) (i32.const 1))

  (func (export "fgr_info") (result i64) (call $pack (i32.const 256) (i32.const 118)))

  ;; One request buffer at 4096, memory grown to hold it.
  (func (export "fgr_alloc") (param $size i32) (result i32)
    (global.set $req_end (i32.add (i32.const 4096) (local.get $size)))
    (call $reserve (global.get $req_end))
    (i32.const 4096))

  (func (export "fgr_discover") (param $req i32) (param $len i32) (result i64)
    (local $node i32) (local $node_len i32) (local $out i32) (local $n i32)
    (local $frame i32) (local $stdout i32) (local $stdout_len i32)
    ;; Find "node", then skip blanks and the colon: key order and
    ;; whitespace are free. The host has checked the node is a plain name
    ;; (no quote, backslash or control byte), so it is copied as is.
    (local.set $node (call $find_node (local.get $req) (local.get $len)))
    (if (i32.lt_s (local.get $node) (i32.const 0))
      (then (return (call $pack (i32.const 192) (i32.const 35)))))
    (local.set $node_len (call $string_len (local.get $node)
      (i32.add (local.get $req) (local.get $len))))
    (if (i32.or (i32.eqz (local.get $node_len)) (i32.gt_u (local.get $node_len) (i32.const 2048)))
      (then (return (call $pack (i32.const 192) (i32.const 35)))))

    ;; {"name":"site-list","args":["<node>"]} at 1024.
    (memory.copy (i32.const 1024) (i32.const 16) (i32.const 29))
    (memory.copy (i32.const 1053) (local.get $node) (local.get $node_len))
    (local.set $out (i32.add (i32.const 1053) (local.get $node_len)))
    (i32.store8 (local.get $out) (i32.const 0x22))                    ;; "
    (i32.store8 offset=1 (local.get $out) (i32.const 0x5d))           ;; ]
    (i32.store8 offset=2 (local.get $out) (i32.const 0x7d))           ;; }
    (local.set $n (call $exec (i32.const 1024) (i32.sub (i32.add (local.get $out) (i32.const 3)) (i32.const 1024))))

    ;; The frame goes after the request buffer.
    (local.set $frame (global.get $req_end))
    (call $reserve (i32.add (local.get $frame) (local.get $n)))
    (drop (call $take (local.get $frame) (local.get $n)))
    ;; exit_code 0 and no flag (not denied, timed out, failed, truncated).
    (if (i32.or (i32.load (local.get $frame)) (i32.load offset=4 (local.get $frame)))
      (then (return (call $pack (i32.const 96) (i32.const 69)))))
    (local.set $stdout (i32.add (local.get $frame) (i32.const 20)))
    (local.set $stdout_len (i32.load offset=8 (local.get $frame)))

    ;; The response: {"filesystems":[ then each line as a JSON string, then ]}.
    ;; Built after the frame: its size is at most 3 times stdout's plus 20.
    (local.set $out (i32.add (local.get $stdout) (local.get $stdout_len)))
    (call $reserve (i32.add (local.get $out)
      (i32.add (i32.mul (local.get $stdout_len) (i32.const 3)) (i32.const 32))))
    (call $lines_to_json (local.get $stdout) (local.get $stdout_len) (local.get $out)))

  ;; lines_to_json writes {"filesystems":["l1","l2"]} at $out from the lines
  ;; at $p (blank lines skipped) and returns its packed region, or the error
  ;; response when a line holds a quote, backslash or control byte.
  (func $lines_to_json (param $p i32) (param $len i32) (param $out i32) (result i64)
    (local $end i32) (local $w i32) (local $c i32) (local $in_line i32) (local $first i32)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (memory.copy (local.get $out) (i32.const 64) (i32.const 16))
    (local.set $w (i32.add (local.get $out) (i32.const 16)))
    (local.set $first (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.eq (local.get $c) (i32.const 0x0a))
          (then
            (if (local.get $in_line) (then
              (i32.store8 (local.get $w) (i32.const 0x22))
              (local.set $w (i32.add (local.get $w) (i32.const 1)))))
            (local.set $in_line (i32.const 0)))
          (else
            (if (i32.or (i32.or (i32.lt_u (local.get $c) (i32.const 0x20)) (i32.eq (local.get $c) (i32.const 0x22)))
                        (i32.eq (local.get $c) (i32.const 0x5c)))
              (then (return (call $pack (i32.const 96) (i32.const 69)))))
            (if (i32.eqz (local.get $in_line)) (then
              (if (i32.eqz (local.get $first)) (then
                (i32.store8 (local.get $w) (i32.const 0x2c))          ;; ,
                (local.set $w (i32.add (local.get $w) (i32.const 1)))))
              (i32.store8 (local.get $w) (i32.const 0x22))
              (local.set $w (i32.add (local.get $w) (i32.const 1)))
              (local.set $first (i32.const 0))
              (local.set $in_line (i32.const 1))))
            (i32.store8 (local.get $w) (local.get $c))
            (local.set $w (i32.add (local.get $w) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (if (local.get $in_line) (then
      (i32.store8 (local.get $w) (i32.const 0x22))
      (local.set $w (i32.add (local.get $w) (i32.const 1)))))
    (i32.store8 (local.get $w) (i32.const 0x5d))
    (i32.store8 offset=1 (local.get $w) (i32.const 0x7d))
    (call $pack (local.get $out) (i32.sub (i32.add (local.get $w) (i32.const 2)) (local.get $out))))

  ;; find_node returns the offset of the node's first byte (after "node",
  ;; blanks, a colon, blanks and the opening quote), or -1.
  (func $find_node (param $p i32) (param $len i32) (result i32)
    (local $end i32) (local $q i32)
    (local.set $end (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 6)))
    (block $none
      (loop $scan
        (br_if $none (i32.gt_s (local.get $p) (local.get $end)))
        (if (i32.and (i32.eq (i32.load (local.get $p)) (i32.load (i32.const 0)))
                     (i32.eq (i32.load16_u offset=4 (local.get $p)) (i32.load16_u (i32.const 4))))
          (then
            (local.set $q (call $skip_blanks (i32.add (local.get $p) (i32.const 6))))
            (if (i32.eq (i32.load8_u (local.get $q)) (i32.const 0x3a))  ;; :
              (then
                (local.set $q (call $skip_blanks (i32.add (local.get $q) (i32.const 1))))
                (if (i32.eq (i32.load8_u (local.get $q)) (i32.const 0x22))
                  (then (return (i32.add (local.get $q) (i32.const 1)))))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (i32.const -1))

  (func $skip_blanks (param $p i32) (result i32)
    (local $c i32)
    (loop $more
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x20)) (i32.eq (local.get $c) (i32.const 0x09)))
                  (i32.or (i32.eq (local.get $c) (i32.const 0x0a)) (i32.eq (local.get $c) (i32.const 0x0d))))
        (then (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $more))))
    (local.get $p))

  ;; string_len counts bytes from $p up to the closing quote (or $end).
  (func $string_len (param $p i32) (param $end i32) (result i32)
    (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (i32.add (local.get $p) (local.get $n)) (local.get $end)))
        (br_if $done (i32.eq (i32.load8_u (i32.add (local.get $p) (local.get $n))) (i32.const 0x22)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (local.get $n))

  ;; reserve grows memory until offset $end is inside it.
  (func $reserve (param $end i32)
    (local $have i32)
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then (drop (memory.grow
        (i32.div_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535)) (i32.const 65536)))))))

  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len))))
)
