//! Retention purges delivered history once it is older than the configured time, and never
//! what is still waiting to be delivered.

use axum::http::StatusCode;
use screenhook_delivery::Retention;
use screenhook_domain::{EventKind, Millis};
use screenhook_testkit::TestReceiver;

use crate::app;

#[tokio::test]
async fn delivered_history_goes_after_the_retention_period_and_queued_work_stays() {
    let app = app().await;
    let up = TestReceiver::start().await;
    let down = TestReceiver::start().await;
    down.answer(StatusCode::SERVICE_UNAVAILABLE);
    app.webhook("up", &up.url("/"), &EventKind::ALL).await;
    app.webhook("down", &down.url("/"), &EventKind::ALL).await;
    let session = app.invite("jane@example.com").await;
    app.worker.run_pending().await.unwrap();
    assert_eq!(up.received().len(), 1);
    let retention = Retention {
        store: app.engine.store.clone(),
        clock: app.clock.clone(),
        keep: Millis::days(30),
        interval: std::time::Duration::from_secs(3600),
    };

    let purged = retention.purge_now().await.unwrap();
    assert_eq!(purged.deliveries + purged.events, 0, "nothing is old enough yet");
    assert_eq!(app.log("up").await.len(), 1);

    app.clock.advance(Millis::days(31));
    let purged = retention.purge_now().await.unwrap();
    assert_eq!((purged.deliveries, purged.attempts), (1, 1), "the delivered one and its attempt");
    let left = app.store().events_after(0, 100).await.unwrap().len();
    assert_eq!(left, 1, "only the invitation's event is left");
    // The test's creation, fired before any webhook existed, had no delivery to wait for; the
    // invitation's event still has one waiting for `down`.
    assert_eq!(purged.events, 1);
    assert!(app.log("up").await.is_empty());
    let waiting = app.log("down").await;
    assert_eq!(waiting.len(), 1, "the failing webhook's delivery is kept however old");
    assert_eq!(waiting[0].session_id.as_ref(), Some(&session));
    let events = app.store().events_of_session(&app.company, &session).await.unwrap();
    assert_eq!(events.len(), 1);
}
