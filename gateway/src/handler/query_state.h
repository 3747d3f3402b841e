/*
 * query_state.h - the life of one POST /v1/facts/query as a named state
 * machine (docs/architecture.md draws it).
 *
 * The one idea: a query is in exactly one state, every state is named once
 * (QUERY_STATES generates the enum and the names, so a state cannot be
 * half-added), and the only legal moves are the ones query_state_legal
 * lists.  query.c changes a query's state in one place, query_state_set,
 * which refuses an illegal move (abort in debug builds, an error line and
 * no change in release builds) and logs every move at debug level, as
 * curl's mstate() does.  The race fixed in 99728cc (the deadline and the
 * last group's "done" event both finishing a query in one loop turn) is an
 * illegal FINISHING -> FINISHING here: the second finisher finds the query
 * no longer in a state it may finish from and does nothing.
 */
#ifndef GW_QUERY_STATE_H
#define GW_QUERY_STATE_H

/* X(NAME, what the query is doing), in the order a query passes them. */
#define QUERY_STATES(X)                                                        \
  X(NEW,       "allocated; its body or re-check spec is being read and "      \
               "checked; nothing started, nothing answered")                   \
  X(WAITING,   "planned: groups started (cache hit, leading or waiting on "   \
               "a fetch), the deadline armed; some group has no answer yet")  \
  X(GATHERED,  "every group answered; the done event is queued to finish "    \
               "it on the loop (the deadline may still come first)")          \
  X(FINISHING, "views computed, answer and record being written; no group "   \
               "or timer can reach it any more")                               \
  X(AUDITING,  "the record is handed to the audit log; the answer leaves "   \
               "when the audit callback says the record is durable")           \
  X(DONE,      "answered (200, or a problem) and about to be freed")

enum query_state {
#define QUERY_STATE_ENUM(name, what) QS_##name,
  QUERY_STATES(QUERY_STATE_ENUM)
#undef QUERY_STATE_ENUM
  QS_COUNT
};

/* "NEW", "WAITING", ...: static storage; "?" for a value out of range. */
const char *query_state_name(enum query_state s);

/* 1 when a query may move from `from` to `to`, else 0 (also for values out
 * of range).  The legal moves:
 *   NEW       -> WAITING    planned and started
 *   NEW       -> DONE       refused before anything started (400, 403, ...)
 *   WAITING   -> GATHERED   the last group answered
 *   WAITING   -> FINISHING  the deadline passed first
 *   GATHERED  -> FINISHING  the done event ran, or the deadline in the
 *                           same loop turn
 *   FINISHING -> AUDITING   the record is handed to the audit log
 *   FINISHING -> DONE       the answer or record could not be built
 *   AUDITING  -> DONE       the audit callback answered, or the log
 *                           refused the record at once (503)
 * Nothing leaves DONE; no state moves to itself. */
int query_state_legal(enum query_state from, enum query_state to);

#endif /* GW_QUERY_STATE_H */
