//! The SMS gateway client against the fake gateway, and the fakes refusing what the documented
//! shapes do not allow (an SMS over two segments, a template parameter with a line break).

use app::outreach::Template;
use channels::fake_sms::FakeSms;
use channels::fake_whatsapp::FakeWhatsApp;
use channels::{SmsGateway, WhatsAppCloud};
use domain::PhoneE164;

#[tokio::test]
async fn an_sms_goes_out_with_the_sender_name_and_a_longer_text_is_refused_before_sending() {
    let fake = FakeSms::start("key").unwrap();
    let gateway = SmsGateway::new(fake.base_url(), "key", "AutoDrive");
    let to = PhoneE164::parse("+79161234567").unwrap();
    let id = gateway.send_sms(&to, &"я".repeat(134)).await.unwrap();
    assert_eq!(id, "sms-000001");
    assert_eq!(fake.messages()[0]["from"], "AutoDrive");
    assert!(gateway.send_sms(&to, &"я".repeat(135)).await.is_err());
    assert_eq!(fake.messages().len(), 1);
    let wrong_key = SmsGateway::new(fake.base_url(), "other", "AutoDrive");
    assert!(wrong_key.send_sms(&to, "Привет").await.is_err());
    assert_eq!(fake.rejected(), ["bad API key"]);
}

#[tokio::test]
async fn a_template_with_a_line_break_in_a_parameter_is_refused_by_the_client() {
    let fake = FakeWhatsApp::start("1065", "token").unwrap();
    let cloud = WhatsAppCloud::new(fake.base_url(), "1065", "token");
    let to = app::ports::WhatsAppId::parse("79161234567").unwrap();
    let mut template = Template {
        name: "autodrive_soft_reminder".into(),
        language: "ru".into(),
        body: vec!["Анна".into(), "Пора на ТО.".into()],
        quick_replies: ["book", "done", "later", "mute"]
            .map(|p| format!("{p}:o0123456789abcdef"))
            .to_vec(),
    };
    cloud.send_template(&to, &template).await.unwrap();
    assert!(fake.rejected().is_empty(), "{:?}", fake.rejected());
    let sent = &fake.messages()[0]["template"]["components"];
    assert_eq!(sent[4]["index"], "3");
    assert_eq!(
        sent[4]["parameters"][0]["payload"],
        "mute:o0123456789abcdef"
    );
    template.body[1] = "Пора\nна ТО.".into();
    assert!(cloud.send_template(&to, &template).await.is_err());
    assert_eq!(fake.messages().len(), 1);

    // The fake itself refuses it too, as the Cloud API does (error 132018).
    let raw = serde_json::json!({
        "messaging_product": "whatsapp", "to": "79161234567", "type": "template",
        "template": {"name": "autodrive_soft_reminder", "language": {"code": "ru"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "a\nb"}]}]}
    });
    let reply = reqwest::Client::new()
        .post(format!("{}/v21.0/1065/messages", fake.base_url()))
        .bearer_auth("token")
        .json(&raw)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 400);
    assert_eq!(fake.rejected().len(), 1);
}
