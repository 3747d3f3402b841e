/*
 * console.c - GET /console: the operations console (see gw/console.h).
 *
 * The one idea: the page is a view of what the gateway already measures
 * for /metrics and /v1/agencies, rendered at the request, never a second
 * set of counters.  Per agency it reads the same policy snapshot and recent
 * window as GET /v1/agencies (breaker, limiter, p50/p99 and error rate of
 * the last fetches, the last error code); then the cache statistics, the
 * audit log's metrics and readiness, the running adapters and the build.
 * Every string that reaches the page goes through gw_console_escape; none
 * of them can be personal data (ids of adapters and agencies, result codes,
 * numbers and times only).
 */
#include "gw/console.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gw/adapter.h"
#include "gw/alloc.h"
#include "gw/app.h"
#include "gw/audit.h"
#include "gw/witness.h"
#include "cache.h"
#include "gw/config.h"
#include "gw/facts.h"
#include "gw/fetch.h"
#include "gw/front.h"
#include "gen.h"
#include "gw/policy.h"

#define CONSOLE_PAGE_MAX (1024 * 1024)   /* a page past this is refused (500) */

static void buf_add(struct gw_console_buf *b, const char *s, size_t n)
{
  if(b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 8192;
    while(cap < b->len + n + 1)
      cap *= 2;
    b->p = gw_realloc(b->p, cap);
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void put(struct gw_console_buf *b, const char *s)
{
  buf_add(b, s, strlen(s));
}

static void putf(struct gw_console_buf *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static void putf(struct gw_console_buf *b, const char *fmt, ...)
{
  char tmp[512];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if(n > 0)
    buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void gw_console_escape(struct gw_console_buf *b, const char *s)
{
  for(; s && *s; s++) {
    switch(*s) {
    case '&':  put(b, "&amp;"); break;
    case '<':  put(b, "&lt;"); break;
    case '>':  put(b, "&gt;"); break;
    case '"':  put(b, "&quot;"); break;
    case '\'': put(b, "&#39;"); break;
    default:   buf_add(b, s, 1);
    }
  }
}

/* "2 d 03:04:05", "03:04:05" */
static void put_duration(struct gw_console_buf *b, long long s)
{
  if(s < 0)
    s = 0;
  if(s >= 86400)
    putf(b, "%lld d %02lld:%02lld:%02lld", s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
  else
    putf(b, "%02lld:%02lld:%02lld", s / 3600, s % 3600 / 60, s % 60);
}

static void put_time(struct gw_console_buf *b, time_t t)
{
  struct tm tm;
  char s[32];
  gmtime_r(&t, &tm);
  strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S UTC", &tm);
  put(b, s);
}

static void put_bytes(struct gw_console_buf *b, double v)
{
  if(v >= 1024.0 * 1024 * 1024)
    putf(b, "%.1f GiB", v / (1024.0 * 1024 * 1024));
  else if(v >= 1024.0 * 1024)
    putf(b, "%.1f MiB", v / (1024.0 * 1024));
  else if(v >= 1024.0)
    putf(b, "%.1f KiB", v / 1024.0);
  else
    putf(b, "%.0f B", v);
}

/* <th> with both labels */
static void th(struct gw_console_buf *b, const char *zh, const char *en)
{
  putf(b, "<th scope=\"col\">%s<br><span class=\"en\">%s</span></th>", zh, en);
}

static const char *breaker_zh(const char *state)
{
  if(!strcmp(state, "closed"))
    return "闭合";
  if(!strcmp(state, "open"))
    return "断开";
  return "半开";
}

static void agencies(struct gw_console_buf *b, struct gw_app *app)
{
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  uint64_t now = gw_policy_now_ms();

  put(b, "<section id=\"agencies\"><h2>委办局接口 <span class=\"en\">Agencies</span></h2>\n"
         "<table><thead><tr>");
  th(b, "适配器", "Adapter");
  th(b, "委办局", "Agency");
  th(b, "熔断器", "Breaker");
  th(b, "近期 p50 / p99", "Recent p50 / p99");
  th(b, "错误率", "Error rate");
  th(b, "最近错误", "Last error");
  th(b, "排队时间 p50 / p99", "Queue time p50 / p99");
  th(b, "并发 / 排队", "In flight / queued");
  th(b, "调用次数", "Fetches");
  put(b, "</tr></thead><tbody>\n");
  for(size_t i = 0; i < gen->n_rt; i++) {
    struct gw_adapter_rt *rt = gen->rt[i];
    json_t *snap = gw_policy_state_snapshot(rt->policy, now);
    json_t *recent = gw_adapter_rt_recent(rt);
    json_t *br = json_object_get(snap, "breaker"), *cc = json_object_get(snap, "concurrency");
    json_t *lat = json_object_get(recent, "latency_ms"), *le = json_object_get(recent, "last_error");
    json_t *qt = json_object_get(recent, "queue_ms");
    const char *state = json_string_value(json_object_get(br, "state"));
    double er = json_number_value(json_object_get(recent, "error_rate"));

    if(!state)
      state = "closed";
    put(b, "<tr><td>");
    gw_console_escape(b, rt->adapter->id);
    putf(b, " <span class=\"en\">v%d</span></td><td>", rt->adapter->version);
    gw_console_escape(b, rt->adapter->agency);
    putf(b, "</td><td class=\"br-%s\">", !strcmp(state, "closed") ? "closed"
                                         : !strcmp(state, "open") ? "open" : "half");
    put(b, breaker_zh(state));
    put(b, " <span class=\"en\">");
    gw_console_escape(b, state);
    put(b, "</span></td><td class=\"num\">");
    if(json_is_object(lat))
      putf(b, "%.1f / %.1f ms", json_number_value(json_object_get(lat, "p50")),
           json_number_value(json_object_get(lat, "p99")));
    else
      put(b, "—");
    putf(b, "</td><td class=\"num%s\">%.1f%%</td><td>", er > 0.05 ? " warn" : "", er * 100.0);
    if(json_is_object(le)) {
      gw_console_escape(b, json_string_value(json_object_get(le, "code")));
      put(b, " <span class=\"en\">");
      put_time(b, (time_t)json_integer_value(json_object_get(le, "at")));
      put(b, "</span>");
    }
    else
      put(b, "—");
    put(b, "</td><td class=\"num\">");
    if(json_is_object(qt))
      putf(b, "%.1f / %.1f ms", json_number_value(json_object_get(qt, "p50")),
           json_number_value(json_object_get(qt, "p99")));
    else
      put(b, "—");
    putf(b, "</td><td class=\"num\">%lld / %lld <span class=\"en\">(max %lld)</span></td>"
            "<td class=\"num\">%lld</td></tr>\n",
         (long long)json_integer_value(json_object_get(cc, "in_flight")),
         (long long)json_integer_value(json_object_get(cc, "queued")),
         (long long)json_integer_value(json_object_get(cc, "max")),
         (long long)json_integer_value(json_object_get(recent, "fetches")));
    json_decref(snap);
    json_decref(recent);
  }
  if(!gen->n_rt)
    put(b, "<tr><td colspan=\"9\">没有适配器 <span class=\"en\">no adapters loaded</span></td></tr>\n");
  putf(b, "</tbody></table>\n<p class=\"note\">近期 = 最近 %d 次调用 "
          "<span class=\"en\">recent = the last %d fetches of each adapter</span></p></section>\n",
       GW_RT_RECENT, GW_RT_RECENT);
  gw_gen_release(gen);
}

static void row(struct gw_console_buf *b, const char *zh, const char *en)
{
  putf(b, "<tr><th scope=\"row\">%s <span class=\"en\">%s</span></th><td>", zh, en);
}

static void cache_section(struct gw_console_buf *b, struct gw_app *app)
{
  struct gw_cache_stats st;
  uint64_t lookups;

  memset(&st, 0, sizeof(st));
  if(app->cache)
    gw_cache_get_stats(app->cache, &st);
  lookups = st.hits + st.misses;
  put(b, "<section id=\"cache\"><h2>缓存 <span class=\"en\">Cache</span></h2><table>\n");
  row(b, "条目", "Entries");
  putf(b, "%zu</td></tr>\n", st.entries);
  row(b, "大小", "Size");
  put_bytes(b, (double)st.bytes);
  putf(b, " / ");
  put_bytes(b, (double)app->cfg->cache_max_bytes);
  put(b, "</td></tr>\n");
  row(b, "命中率", "Hit rate");
  if(lookups)
    putf(b, "%.1f%% <span class=\"en\">(%llu of %llu lookups)</span></td></tr>\n",
         100.0 * (double)st.hits / (double)lookups, (unsigned long long)st.hits,
         (unsigned long long)lookups);
  else
    put(b, "— <span class=\"en\">(no lookups yet)</span></td></tr>\n");
  row(b, "淘汰 / 过期兜底", "Evictions / stale served");
  putf(b, "%llu / %llu</td></tr>\n</table></section>\n", (unsigned long long)st.evictions,
       (unsigned long long)st.stale_served);
}

static void audit_section(struct gw_console_buf *b, struct gw_app *app, time_t now)
{
  struct gw_audit_metrics m;
  char why[512];
  int ready;

  put(b, "<section id=\"audit\"><h2>审计日志 <span class=\"en\">Audit log</span></h2><table>\n");
  if(!app->audit) {
    put(b, "<tr><td>未打开 <span class=\"en\">not open</span></td></tr></table></section>\n");
    return;
  }
  gw_audit_metrics(app->audit, &m);
  ready = gw_audit_ready(app->audit, why, sizeof(why));
  row(b, "状态", "State");
  if(ready)
    put(b, "<span class=\"ok\">正常 <span class=\"en\">accepting records</span></span>");
  else {
    put(b, "<span class=\"bad\">故障，拒绝查询 <span class=\"en\">failed, queries refused</span>"
           "</span><br>");
    gw_console_escape(b, why);
  }
  put(b, "</td></tr>\n");
  row(b, "日志编号", "Log id");
  gw_console_escape(b, gw_audit_log_id(app->audit));
  put(b, "</td></tr>\n");
  row(b, "记录数", "Records");
  putf(b, "%llu</td></tr>\n", (unsigned long long)m.entries);
  row(b, "大小", "Size");
  put_bytes(b, (double)m.bytes);
  put(b, "</td></tr>\n");
  row(b, "最近检查点", "Last checkpoint");
  if(m.checkpoint_unix > 0) {
    put_duration(b, (long long)now - (long long)m.checkpoint_unix);
    putf(b, " 前 <span class=\"en\">ago, covering %llu records</span>",
         (unsigned long long)m.checkpoint_size);
    if(m.entries > m.checkpoint_size)
      putf(b, " <span class=\"warn\">(%llu 条未签 <span class=\"en\">not yet signed</span>)</span>",
           (unsigned long long)(m.entries - m.checkpoint_size));
  }
  else
    put(b, "—");
  putf(b, "</td></tr>\n");
  row(b, "检查点数", "Checkpoints");
  putf(b, "%llu</td></tr>\n", (unsigned long long)m.checkpoints);
  row(b, "见证副签", "Witness cosignatures");
  if(!gw_witness_peer_count(app->witness))
    put(b, "— <span class=\"en\">(no witness peers configured)</span>");
  for(size_t i = 0; i < gw_witness_peer_count(app->witness); i++) {
    struct gw_witness_peer_stats ps;
    gw_witness_peer_stats(app->witness, i, &ps);
    if(i)
      put(b, "<br>");
    gw_console_escape(b, ps.gateway_id);
    put(b, ": ");
    if(ps.current)
      putf(b, "<span class=\"ok\">已副签 <span class=\"en\">cosigned our latest checkpoint "
              "(%llu records)</span></span>", (unsigned long long)ps.cosigned_size);
    else if(ps.received)
      putf(b, "<span class=\"warn\">待副签 <span class=\"en\">latest not yet cosigned; last "
              "cosigned %llu records</span></span>", (unsigned long long)ps.cosigned_size);
    else
      put(b, "<span class=\"warn\">未副签 <span class=\"en\">no cosignature yet</span></span>");
    if(ps.last_error[0]) {
      put(b, " <span class=\"bad\">");
      gw_console_escape(b, ps.last_error);
      put(b, "</span>");
    }
    putf(b, "<br><span class=\"en\">as its witness: %llu cosigned, up to %llu records",
         (unsigned long long)ps.cosigned, (unsigned long long)ps.witnessed_size);
    if(ps.refused)
      putf(b, "; </span><span class=\"bad\">拒签 %llu <span class=\"en\">refused (its log is "
              "inconsistent with what we cosigned)</span></span>", (unsigned long long)ps.refused);
    else
      put(b, "</span>");
  }
  put(b, "</td></tr>\n");
  row(b, "平均落盘", "Mean fdatasync");
  if(m.fsync_count)
    putf(b, "%.2f ms <span class=\"en\">(%llu commits)</span>", 1000.0 * m.fsync_sum_s /
         (double)m.fsync_count, (unsigned long long)m.fsync_count);
  else
    put(b, "—");
  putf(b, "</td></tr>\n");
  row(b, "自动恢复", "Self-recoveries");
  putf(b, "%llu</td></tr>\n</table></section>\n", (unsigned long long)m.recoveries);
}

static void generation_section(struct gw_console_buf *b, const struct gw_console *con,
                               time_t now)
{
  struct gw_gen *gen = gw_gen_acquire(con->app->gens);
  const struct gw_catalogue *prev = gw_catalogue_use(gen->catalogue);
  size_t n_facts = 0;
  double not_after;

  (void)gw_fact_all(&n_facts);
  gw_catalogue_use(prev);
  put(b, "<section id=\"running\"><h2>运行版本 <span class=\"en\">Running generation and "
         "build</span></h2><table>\n");
  row(b, "网关", "Gateway");
  gw_console_escape(b, con->app->cfg->gateway_id);
  put(b, "</td></tr>\n");
  row(b, "版本", "Build");
  put(b, "gatewayd ");
  gw_console_escape(b, con->version);
  put(b, "</td></tr>\n");
  row(b, "启动时间", "Started");
  put_time(b, con->started);
  put(b, " <span class=\"en\">(uptime ");
  put_duration(b, (long long)(now - con->started));
  put(b, ")</span></td></tr>\n");
  row(b, "配置代", "Generation");
  putf(b, "%llu <span class=\"en\">(reloads change it; activated by ",
       (unsigned long long)gen->id);
  gw_console_escape(b, gen->who);
  put(b, ")</span></td></tr>\n");
  row(b, "事实目录", "Fact catalogue");
  putf(b, "%zu 项事实 <span class=\"en\">facts</span></td></tr>\n", n_facts);
  row(b, "适配器版本", "Adapter versions");
  for(size_t i = 0; i < gen->n_rt; i++) {
    if(i)
      put(b, ", ");
    gw_console_escape(b, gen->rt[i]->adapter->id);
    putf(b, " v%d", gen->rt[i]->adapter->version);
  }
  put(b, "</td></tr>\n");
  row(b, "服务器证书到期", "Server certificate expires");
  if(con->api && !gw_server_cert_not_after(con->api, &not_after)) {
    long long left = (long long)not_after - (long long)now;
    put_time(b, (time_t)not_after);
    putf(b, " <span class=\"%s\">(%lld 天 <span class=\"en\">days</span>)</span>",
         left < 14 * 86400 ? "bad" : "ok", left / 86400);
  }
  else
    put(b, "—");
  put(b, "</td></tr>\n</table></section>\n");
  gw_gen_release(gen);
}

static const char page_head[] =
  "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";

static const char page_style[] =
  "<style>\n"
  "body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",sans-serif;margin:1.5em;"
  "color:#1b1b1b;background:#fafafa}\n"
  "h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}\n"
  "table{border-collapse:collapse;background:#fff}\n"
  "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\n"
  "thead th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
  ".en{color:#666;font-size:.85em}.note{color:#666;font-size:.85em}\n"
  ".br-closed,.ok{color:#1a7f37}.br-open,.bad{color:#b42318;font-weight:bold}"
  ".br-half,.warn{color:#b54708}\n"
  "</style>\n</head>\n<body>\n";

void gw_console_handle(struct gw_req *req, void *arg)
{
  const struct gw_console *con = arg;
  struct gw_console_buf b = { NULL, 0, 0 };
  time_t now = time(NULL);

  put(&b, page_head);
  putf(&b, "<meta http-equiv=\"refresh\" content=\"%d\">\n",
       con->refresh_s > 0 ? con->refresh_s : 10);
  put(&b, "<title>gatewayd 运维控制台 / Operations console</title>\n");
  put(&b, page_style);
  put(&b, "<header><h1>数据共享交换网关 运维控制台 <span class=\"en\">Data-exchange gateway "
          "operations console</span></h1>\n<p class=\"note\">");
  gw_console_escape(&b, con->app->cfg->gateway_id);
  put(&b, " · 生成于 <span class=\"en\">rendered</span> ");
  put_time(&b, now);
  putf(&b, " · 每 %d 秒刷新 <span class=\"en\">refreshes every %d s</span> · 只读 "
           "<span class=\"en\">read-only</span></p></header>\n<main>\n",
       con->refresh_s > 0 ? con->refresh_s : 10, con->refresh_s > 0 ? con->refresh_s : 10);
  agencies(&b, con->app);
  cache_section(&b, con->app);
  audit_section(&b, con->app, now);
  generation_section(&b, con, now);
  put(&b, "</main>\n<footer><p class=\"note\">指标 <span class=\"en\">metrics</span>: "
          "/metrics · 就绪 <span class=\"en\">readiness</span>: /readyz · "
          "docs/operations.md</p></footer>\n</body>\n</html>\n");
  if(b.len > CONSOLE_PAGE_MAX) {
    gw_free(b.p);
    gw_req_problem(req, 500, "internal", "the console page grew past its cap");
    return;
  }
  (void)gw_req_set_header(req, "Cache-Control", "no-store");
  (void)gw_req_set_header(req, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  gw_req_respond(req, 200, "text/html; charset=utf-8", b.p, b.len);
  gw_free(b.p);
}
