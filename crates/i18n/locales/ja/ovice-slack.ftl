# ovice-slack、日本語。ここにある id はすべて en/ovice-slack.ftl にも同じ値（$…）で存在します。
# そうでなければ i18n クレートのテストが失敗します。値は出力先に合わせてエスケープ済みで渡されます。

## Slack のメッセージ

frame-context = *{ $who }*（{ $space }）
frame-visitor = { $name }（ゲスト）
frame-someone = ovice のユーザー
frame-fallback = { $who }（{ $space }）: { $text }
frame-open = ovice で開く
frame-empty = （ovice でメッセージを開いて読んでください）
frame-shortened = …（省略されました。全文は ovice で読めます）
digest-title = おやすみ時間中に { $count } 件のメッセージが届きました

## Connect の結果ページ：タイトル、.message（何が起きたか）、.hint（次にすること）

connect-connected = Slack と連携しました
    .message = { $domain }.slack.com の @{ $slack_user } として、ovice アカウント { $ovice_account } と連携しました。このウィンドウは閉じてかまいません。
    .hint = これから ovice で受け取るダイレクトメッセージは、組織のすべてのスペースで Slack のダイレクトメッセージにも届きます。
connect-slack-unavailable = Slack に接続できません
    .message = 連携を完了するための Slack への接続ができませんでした。何も変更されていません。
    .hint = しばらく待ってから、このウィンドウを閉じて、もう一度「連携」をクリックしてください。
connect-failed = 問題が発生しました
    .message = こちら側の問題により Slack アカウントを連携できませんでした。何も変更されていません。
    .hint = 数分後にもう一度お試しください。繰り返し起きる場合は ovice の管理者にお知らせください。
connect-missing-state = このリンクは不完全です
    .message = Slack から戻ったアドレスにサインイン情報が含まれていません。
    .hint = このウィンドウを閉じて、個人の連携設定でもう一度「連携」をクリックしてください。
connect-unknown-state = このリンクは無効です
    .message = このサインインリンクは、あなたのアカウントのために ovice が発行したものではありません。
    .hint = このウィンドウを閉じて、個人の連携設定でもう一度「連携」をクリックしてください。
connect-state-used = このリンクは使用済みです
    .message = 連携のリンクは一度しか使えません。このリンクはすでに使われています。
    .hint = このウィンドウを閉じて、個人の連携設定でもう一度「連携」をクリックしてください。
connect-state-expired = このリンクは有効期限が切れています
    .message = 連携のリンクの有効期限は 10 分です。このリンクはそれより前に発行されました。
    .hint = このウィンドウを閉じて、個人の連携設定でもう一度「連携」をクリックしてください。
connect-cancelled = Slack との連携をキャンセルしました
    .message = Slack のページでキャンセルされたため、Slack アカウントは連携されていません。何も変更されていません。
    .hint = このウィンドウは閉じてかまいません。後で連携するには、個人の連携設定で「連携」をクリックしてください。
connect-slack-error = Slack が連携を完了しませんでした
    .message = Slack が「{ $code }」と応答したため、アカウントは連携されていません。
    .hint = このウィンドウを閉じて、個人の連携設定でもう一度「連携」をクリックしてください。
connect-wrong-workspace = Slack ワークスペースが違います
    .message = ワークスペース「{ $chosen }」が選ばれましたが、あなたの組織が使っているのは { $domain }.slack.com です。
    .hint = もう一度「連携」をクリックし、Slack のページ右上のメニューでそのワークスペースを選んでください。
connect-no-slack-account = 一致する Slack アカウントがありません
    .message = { $domain }.slack.com にメールアドレス { $email } の Slack アカウントはありません。
    .hint = Slack の管理者にそのアドレスを招待してもらうか、ovice と Slack で同じメールアドレスを使ってから、もう一度連携してください。
connect-email-mismatch = 「許可する」をクリックしたのは別の Slack アカウントです
    .message = { $domain }.slack.com でメールアドレス { $email } を持つのは、「許可する」をクリックしたものとは別の Slack アカウントです。
    .hint = そのメールアドレスの Slack アカウントでサインインしてから、もう一度「連携」をクリックしてください。
connect-slack-account-taken = この Slack アカウントはすでに連携されています
    .message = { $domain }.slack.com の @{ $slack_user } は、組織の別の ovice アカウントとすでに連携しているため、このアカウントとは連携されていません。
    .hint = その Slack アカウントがあなたのものであれば、先に別の ovice アカウントとの連携を解除するか、ovice の管理者にご相談ください。
connect-workspace-gone = Slack が設定されていません
    .message = 連携の途中で、組織の Slack 設定が削除されました。
    .hint = 組織のオーナーに Slack をもう一度設定するよう依頼してください。

## 利用者に表示されるエラー（プラットフォームはエラーの google.rpc.LocalizedMessage を表示します）

error-denied = ここではこの操作はできません。メンバーまたは管理者であるスペースで個人の連携設定を開いてください。
error-not-configured = 組織の Slack はまだ設定されていません。組織のオーナーに設定を依頼してください。
error-workspace-token-invalid = 組織の Slack 接続が使えなくなっています。組織のオーナーにもう一度設定するよう依頼してください。
error-connect-not-configured = Slack との連携はまだ利用できません。ovice の管理者にお知らせください。
error-no-email = ovice アカウントにメールアドレスがないため、Slack アカウントと照合できません。
error-email-not-verified = 先に ovice でメールアドレスを確認してください。Slack アカウントは確認済みのメールアドレスでのみ照合されます。
error-too-many-connects = 1 分間に何度も連携を始めています。最新の連携ウィンドウを使うか、{ $seconds } 秒後にもう一度お試しください。
error-unavailable = 現在サービスが混み合っているか、Slack に接続できません。しばらくしてからもう一度お試しください。
error-internal = こちら側で問題が発生しました。後でもう一度お試しください。繰り返し起きる場合は ovice の管理者にお知らせください。
error-invalid-settings = 正しくない設定があります：{ $fields }。
