# ovice-slack、日本語。ここにある id はすべて en/ovice-slack.ftl にも同じ値（$…）で存在します。
# そうでなければ i18n クレートのテストが失敗します。値は出力先に合わせてエスケープ済みで渡されます。

## Slack のメッセージ

# 太字の * の前には空白が要ります（Slack は和文に接した * を太字にしません）。
frame-context = { $space }の *{ $who }*
frame-visitor = { $name }（ゲスト）
frame-someone = ovice のユーザー
frame-fallback = { $space }の{ $who }：{ $text }
frame-open = ovice で開く
frame-empty = （ovice でメッセージを開いて読んでください）
frame-shortened = …（省略されました。全文は ovice で読めます）
digest-title = おやすみ時間中に { $count } 件のメッセージが届きました

## Connect の結果ページ：タイトル、.message（何が起きたか）、.hint（次にすること）

connect-connected = Slack と連携しました
    .message = { $domain }.slack.com の @{ $slack_user } として、ovice アカウント { $ovice_account } と連携しました。このウィンドウは閉じてかまいません。
    .hint = これから、組織のどのスペースで受け取った ovice のダイレクトメッセージも、Slack のダイレクトメッセージに届きます。
connect-slack-unavailable = Slack に接続できません
    .message = Slack に接続できなかったため、連携を完了できませんでした。何も変更されていません。
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
    .message = 連携のリンクの有効期限は 10 分です。このリンクは発行から 10 分以上たっています。
    .hint = このウィンドウを閉じて、個人の連携設定でもう一度「連携」をクリックしてください。
connect-cancelled = Slack との連携をキャンセルしました
    .message = Slack のページでキャンセルされたため、Slack アカウントは連携されていません。何も変更されていません。
    .hint = このウィンドウは閉じてかまいません。後で連携するには、個人の連携設定で「連携」をクリックしてください。
connect-slack-error = Slack で連携を完了できませんでした
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
connect-no-user-grant = Slack からあなたのアカウントへのアクセスが許可されませんでした
    .message = Slack の応答に、あなたの Slack アカウントへのアクセスが含まれていなかったため、連携されていません。何も変更されていません。
    .hint = このウィンドウを閉じて、個人の連携設定でもう一度「連携」をクリックし、Slack のページで「許可する」をクリックしてください。
connect-workspace-gone = Slack の設定が削除されました
    .message = 連携の途中で、組織の Slack 設定が削除されました。
    .hint = 組織のオーナーに Slack をもう一度設定するよう依頼してください。

## 利用者に表示されるエラー（プラットフォームはエラーの google.rpc.LocalizedMessage を表示します）

error-denied = ここではこの操作はできません。メンバーまたは管理者であるスペースで個人の連携設定を開いてください。
error-not-configured = 組織の Slack はまだ設定されていません。組織のオーナーに設定を依頼してください。
error-workspace-token-invalid = 組織の Slack 接続が使えなくなっています。組織のオーナーにもう一度設定するよう依頼してください。
error-connect-not-configured = Slack との連携はまだ利用できません。ovice の管理者にお知らせください。
error-no-email = ovice アカウントにメールアドレスがないため、Slack アカウントと照合できません。
error-email-not-verified = 先に ovice でメールアドレスの認証を済ませてください。Slack アカウントは認証済みのメールアドレスでのみ照合されます。
error-too-many-connects = 短時間に何度も連携を開始しました。最新の連携ウィンドウを使うか、{ $seconds } 秒後にもう一度お試しください。
error-unavailable = 現在サービスが混み合っているか、Slack に接続できません。しばらくしてからもう一度お試しください。
error-internal = こちら側で問題が発生しました。後でもう一度お試しください。繰り返し起きる場合は ovice の管理者にお知らせください。
error-invalid-settings = 無効な設定があります：{ $fields }。

## 利用者が誤りうる設定（error-invalid-settings が名前を挙げます）

field-hold-unread = 未読メッセージの待ち時間
field-paused-until = 一時停止の終了日時
field-quiet-hours-start = おやすみ時間の開始時刻
field-quiet-hours-end = おやすみ時間の終了時刻
field-quiet-hours-time-zone = おやすみ時間のタイムゾーン
field-language = 言語
list-separator = 、

## Slack の項目がもう一度の連携を求める理由（SlackConnection.state_message）

reconnect-access-ended = Slack が、あなたの Slack アカウントへの ovice のアクセスを受け付けなくなりました。「連携」をクリックして、もう一度連携してください。
reconnect-app-uninstalled = Slack ワークスペースから ovice アプリが削除されました。オーナーがアプリをインストールし直したら、「連携」をクリックしてもう一度連携してください。
reconnect-email-changed = Slack アカウントのメールアドレスが変わったため、そのアカウントがあなたのものではなくなった可能性があります。「連携」をクリックして、もう一度連携してください。

## Slack の設定が受け付けられなかったときに組織のオーナーが読む文（IntegrationConfigService）
## Slack アプリの管理画面は英語のみのため、画面上の名前（OAuth & Permissions など）は英語のままにします。

owner-domain-invalid = ワークスペースのドメインが正しくありません。acme.slack.com の「acme」の部分だけを入力してください。
owner-token-missing = ボットトークンは必須です。Slack アプリの OAuth & Permissions ページにある Bot User OAuth Token（xoxb-…）を貼り付けてください。
owner-token-not-bot = これは Bot User OAuth Token ではありません。「xoxb-」で始まるトークンを、OAuth & Permissions → Bot User OAuth Token からコピーしてください（ユーザートークンではありません）。
owner-token-rejected = Slack がボットトークンを受け付けませんでした（{ $code }）：{ $advice }
owner-token-wrong-workspace = このボットトークンは { $expected } ではなく { $actual } のものです。ドメインを確認するか、{ $expected } にアプリをインストールしてください。
owner-token-missing-scopes = ボットトークンにスコープ { $scopes } がありません。Bot Token Scopes に追加して、アプリをインストールし直してください。
owner-refresh-token-missing = ローテーションするトークン（xoxe.xoxb-…）にはリフレッシュトークン（xoxe-1-…）が必要です。一緒に発行されたものを貼り付けてください。ないと 12 時間以内に配信が止まります。
owner-refresh-token-malformed = Slack のリフレッシュトークンではありません。「xoxe-」で始まるものを、トークンと同じインストールからコピーしてください。
owner-client-credential-missing = ローテーションするトークン（xoxe.xoxb-…）にはアプリの client id と client secret が必要です。Basic Information → App Credentials からコピーしてください。
owner-not-rotating = このトークンは期限切れにならないため、リフレッシュトークン、client id、client secret は空にしてください。
owner-renewal-rejected = Slack がトークンの更新を受け付けませんでした（{ $code }）：{ $advice }
owner-signing-secret-is-token = 署名シークレットの欄に Slack のトークンが入っています。Basic Information → App Credentials の Signing Secret をコピーしてください。
owner-signing-secret-malformed = Slack の署名シークレットではありません。Basic Information → App Credentials → Signing Secret にある 32 文字の英数字です。
owner-not-configured = この組織の Slack はまだ設定されていません。
owner-slack-unavailable = トークンを確認するための Slack に接続できませんでした。しばらくしてからもう一度お試しください。
owner-denied = この組織の Slack 設定を管理できるのは組織のオーナーだけです。
owner-internal = こちら側で問題が発生しました。後でもう一度お試しください。繰り返し起きる場合は ovice の管理者にお知らせください。
owner-invalid-request = リクエストが正しくありません：{ $fields }。

## ボットトークンやその更新を Slack が受け付けなかったときにすること（コロンの後に続きます）

advice-copy-again = Slack アプリから Bot User OAuth Token をもう一度コピーしてください。
advice-reinstall = アプリがアンインストールされたか、トークンが取り消されました。アプリをインストールし直して、新しいトークンをコピーしてください。
advice-bot-deactivated = アプリのボットユーザーが無効になりました。アプリをインストールし直してください。
advice-use-bot-token = Bot User OAuth Token（xoxb-…）を使ってください。
advice-refresh-token-spent = リフレッシュトークンはすでに使われたか取り消されています。アプリをインストールし直して、新しいトークンとリフレッシュトークンを入力してください。
advice-client-credentials = client id または client secret がこのアプリのものではありません。Basic Information → App Credentials から両方をもう一度コピーしてください。
advice-check-token = トークンを確認して、もう一度お試しください。
