//! The statement that finds conversations due for their queue's unanswered fallback
//! (docs/routing.md), written once for both engines: the same SQL reads the same columns on
//! SQLite and PostgreSQL (`fallback` is an integer there and a boolean here; both are true or
//! false in a `WHERE`).

/// A conversation waits in its queue since its last entry with an event (a return, a transfer,
/// a reopen, a fallback's move) or, with none, its creation. It is due when that is at or before
/// `since` and no fallback entry came after it (a fallback's message, which leaves it waiting,
/// fires once per wait). Oldest wait first. Each subquery walks one conversation's log
/// backwards on its primary key.
pub(crate) fn due_sql(columns: &str, from: &str, queue: &str, since: &str, limit: &str) -> String {
    let changes = "FROM messages e WHERE e.conversation_id = c.id AND e.event IS NOT NULL";
    format!(
        "SELECT {columns} FROM {from} \
         WHERE c.queue = {queue} AND c.state = 'waiting' \
           AND COALESCE((SELECT e.created_at_ms {changes} ORDER BY e.seq DESC LIMIT 1), c.created_at_ms) \
               <= {since} \
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.fallback \
                AND m.seq > COALESCE((SELECT max(e.seq) {changes}), 0)) \
         ORDER BY c.created_at_ms, c.id \
         LIMIT {limit}"
    )
}
