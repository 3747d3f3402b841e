# phases.awk - splits `perf script -F comm,ip,sym,dso` samples of gatewayd
# into the phases of docs/performance.md.  Each sample goes to the first
# rule below whose pattern matches any frame of its stack (so signing inside
# a fetch callback counts as signing, not as "upstream").  Prints each
# phase's share of the samples, and µs per query when -v us_per_query=N
# (the gateway's measured CPU per query) is given.
function classify(stack, comm) {
  if (comm ~ /gw-audit/ && stack ~ /fdatasync|fsync/)               return "audit: fdatasync (group commit thread)"
  if (comm ~ /gw-audit/)                                            return "audit: commit thread, other (hashing, tree, checkpoint)"
  if (stack ~ / (gw_attest_make|gw_jws_sign_compact|gw_jws_sign_detached) /) return "signing facts (ES256 attestations)"
  if (stack ~ / (gw_xmlsig_verify|xmlsig_verify|gw_jws_verify[a-z_]*|verify_input|gw_codec_verify[a-z_]*) /) return "agency signature check"
  if (stack ~ / gw_factschema[a-z_]* /)                             return "schema check"
  if (stack ~ / (map_json|map_xml|gw_mapping[a-z_]*|gw_map[a-z_]*) /) return "mapping"
  if (stack ~ / (gw_codec_build|gw_template[a-z_]*|gw_upreq_prepare) /) return "request build (codec, URL, headers)"
  if (stack ~ / (gw_codec_process|json_loadb|xmlRead[A-Za-z]*|xmlCtxtRead[A-Za-z]*) /) return "response parse (codec)"
  if (stack ~ / (gw_log[a-z_]*|log_request|log_exchange) /)         return "logging (JSON log lines)"
  if (stack ~ / (gw_audit[a-z_]*|audit_[a-z_]*|append_done|pending_new) /) return "audit records (build, hand-off)"
  if (stack ~ / (gw_obs_[a-z_]*|gw_metric[a-z_]*) /)                return "metrics"
  if (stack ~ / (gw_upstream_start|curl_easy_init|curl_easy_setopt|curl_multi_add_handle|curl_easy_cleanup|exchange_free|configure) /) return "upstream: exchange set-up and tear-down"
  if (stack ~ / (curl_multi_socket_action|on_socket|on_timer|drain_done) /) {
    if (stack ~ / (SSL_[a-z_]*|BIO_[a-z_]*) /)                      return "upstream TLS (records to/from the agency)"
    return "upstream: libcurl HTTP and sockets"
  }
  if (stack ~ / (SSL_read|SSL_write|SSL_do_handshake|SSL_accept|bufferevent_openssl[a-z_]*|BIO_[a-z_]*) /) return "client TLS (records to/from the engine)"
  if (stack ~ / (gw_query[a-z_]*|query_[a-z_]*|on_fetch_done|gw_fetch[a-z_]*|fetch_[a-z_]*|gw_cache[a-z_]*|gw_acl[a-z_]*|json_answer) /) return "query: parse, ACL, cache, fetch state, answer"
  if (stack ~ / (gw_req[a-z_]*|conn_[a-z_]*|front_[a-z_]*|dispatch) /) return "HTTP front (parse, route, write)"
  if (stack ~ / (epoll_wait|event_base_loop) /)                     return "event loop and other"
  return "other (" comm ")"
}
BEGIN { RS = ""; FS = "\n" }
{
  comm = $1; sub(/^[ \t]+/, "", comm); sub(/[ \t].*$/, "", comm)
  stack = " "
  for (i = 2; i <= NF; i++) {
    line = $i; sub(/^[ \t]*[0-9a-f]+ /, "", line); sub(/ \(.*$/, "", line); sub(/\+0x[0-9a-f]+$/, "", line)
    stack = stack line " "
  }
  n[classify(stack, comm)]++; total++
}
END {
  for (k in n) printf "%6.1f%%  %s%s\n", 100 * n[k] / total, (us_per_query ? sprintf("%5.0f µs  ", us_per_query * n[k] / total) : ""), k | "sort -rn"
  close("sort -rn")
  printf "%d samples\n", total
}
