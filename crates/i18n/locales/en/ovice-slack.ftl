# ovice-slack, English. Every id here exists in ja/ovice-slack.ftl with the same values ($…);
# the i18n crate's tests fail otherwise. Values are inserted already escaped for where they go.

## The Slack message

frame-context = *{ $who }* in { $space }
frame-visitor = { $name } (visitor)
frame-someone = Someone
frame-fallback = { $who } in { $space }: { $text }
frame-open = Open in ovice
frame-empty = (open the message in ovice to read it)
frame-shortened = … (shortened, open in ovice for the full message)
digest-title = { $count ->
    [one] 1 message arrived during your quiet hours
   *[other] { $count } messages arrived during your quiet hours
}

## The pages Connect ends on: the title, then .message (what happened) and .hint (what to do).

connect-connected = Slack connected
    .message = Connected as @{ $slack_user } in { $domain }.slack.com to your ovice account { $ovice_account } — you can close this window.
    .hint = Direct messages you receive in ovice will now also appear in your Slack direct messages, in every space of your organization.
connect-slack-unavailable = Slack is not reachable
    .message = Slack could not be reached to finish connecting your account. Nothing was changed.
    .hint = Wait a moment, then close this window and click "Connect" again.
connect-failed = Something went wrong
    .message = Your Slack account could not be connected because of a problem on our side. Nothing was changed.
    .hint = Try again in a few minutes; if it keeps happening, tell your ovice administrator.
connect-missing-state = This link is incomplete
    .message = The address Slack sent you back to is missing its sign-in information.
    .hint = Close this window and click "Connect" in Personal Integration Settings again.
connect-unknown-state = This link is not valid
    .message = This sign-in link was not issued by ovice for your account.
    .hint = Close this window and click "Connect" in Personal Integration Settings again.
connect-state-used = This link was already used
    .message = Each Connect link works once, and this one has been used already.
    .hint = Close this window and click "Connect" in Personal Integration Settings again.
connect-state-expired = This link has expired
    .message = Connect links work for 10 minutes, and this one is older.
    .hint = Close this window and click "Connect" in Personal Integration Settings again.
connect-cancelled = Connecting Slack was cancelled
    .message = You cancelled on Slack's page, so your Slack account was not connected. Nothing was changed.
    .hint = You can close this window. To connect later, click "Connect" in Personal Integration Settings.
connect-slack-error = Slack did not complete the connection
    .message = Slack answered "{ $code }", so your account was not connected.
    .hint = Close this window and click "Connect" in Personal Integration Settings again.
connect-wrong-workspace = Wrong Slack workspace
    .message = You chose the workspace "{ $chosen }", but your organization uses { $domain }.slack.com.
    .hint = Click "Connect" again and pick that workspace in the drop-down at the top right of Slack's page.
connect-no-slack-account = No matching Slack account
    .message = No Slack account with the email { $email } exists in { $domain }.slack.com.
    .hint = Ask your Slack administrator to invite that address, or use the same email in ovice and Slack, then connect again.
connect-email-mismatch = A different Slack account clicked Allow
    .message = In { $domain }.slack.com the email { $email } belongs to another Slack account than the one that clicked Allow.
    .hint = Sign in to Slack as the account with that email, then click "Connect" again.
connect-slack-account-taken = This Slack account is already connected
    .message = @{ $slack_user } in { $domain }.slack.com is already connected to another ovice account of your organization, so it was not connected to this one.
    .hint = If that Slack account is yours, disconnect it from the other ovice account first, or ask your ovice administrator.
connect-no-user-grant = Slack did not give access to your account
    .message = Slack's answer gave ovice no access to your own Slack account, so it was not connected. Nothing was changed.
    .hint = Close this window, click "Connect" in Personal Integration Settings again, and click Allow on Slack's page.
connect-workspace-gone = Slack is no longer set up
    .message = Your organization's Slack settings were removed while you were connecting.
    .hint = Ask an organization owner to set up Slack again.

## Errors a person may see (the platform shows the google.rpc.LocalizedMessage of an error)

error-denied = You cannot do this here: open Personal Integration Settings in a space where you are a member or an admin.
error-not-configured = Slack is not set up for your organization yet: ask an organization owner to set it up.
error-workspace-token-invalid = Your organization's Slack connection no longer works: ask an organization owner to set it up again.
error-connect-not-configured = Connecting Slack is not available yet: tell your ovice administrator.
error-no-email = Your ovice account has no email address, so it cannot be matched to a Slack account.
error-email-not-verified = Verify your email address in ovice first: a Slack account is matched by a verified email only.
error-too-many-connects = You started connecting many times in a minute: use the newest Connect window, or try again in { $seconds } s.
error-unavailable = The service is busy or cannot reach Slack right now: try again shortly.
error-internal = Something went wrong on our side: try again later, and tell your ovice administrator if it keeps happening.
error-invalid-settings = Some settings are not valid: { $fields }.

## The settings a person can get wrong, as error-invalid-settings names them

field-hold-unread = the wait for unread messages
field-paused-until = the end of the pause
field-quiet-hours-start = the start of quiet hours
field-quiet-hours-end = the end of quiet hours
field-quiet-hours-time-zone = the time zone of quiet hours
field-language = the language
list-separator = {", "}

## Why the Slack item asks to connect again (SlackConnection.state_message)

reconnect-access-ended = Slack no longer accepts ovice's access to your Slack account: click "Connect" to connect again.
reconnect-app-uninstalled = The ovice app was removed from your Slack workspace: click "Connect" to connect again once an owner has installed it.
reconnect-email-changed = The email of your Slack account changed, so it may no longer be yours: click "Connect" to connect again.

## What an organization owner reads when the Slack settings are refused (IntegrationConfigService)

owner-domain-invalid = The workspace domain is not valid: enter only the "acme" part of acme.slack.com.
owner-token-missing = The bot token is required: paste the Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions page.
owner-token-not-bot = This is not a Bot User OAuth Token: it starts with "xoxb-" (copy it from OAuth & Permissions → Bot User OAuth Token, not the user token).
owner-token-rejected = Slack refused the bot token ({ $code }): { $advice }.
owner-token-wrong-workspace = The bot token belongs to { $actual }, not { $expected }: check the domain, or install the app in { $expected }.
owner-token-missing-scopes = The bot token lacks the scopes { $scopes }: add them under Bot Token Scopes and reinstall the app.
owner-refresh-token-missing = A rotating token (xoxe.xoxb-…) needs its refresh token (xoxe-1-…): paste the one Slack issued with it, or delivery stops within 12 hours.
owner-refresh-token-malformed = The refresh token is not a Slack refresh token: it starts with "xoxe-" (copy it from the same install as the token).
owner-client-credential-missing = A rotating token (xoxe.xoxb-…) needs the app's client id and client secret: copy them from Basic Information → App Credentials.
owner-not-rotating = This token does not expire, so leave the refresh token, client id and client secret empty.
owner-renewal-rejected = Slack refused to renew the token ({ $code }): { $advice }.
owner-signing-secret-is-token = The signing secret field holds a Slack token: copy the Signing Secret from Basic Information → App Credentials.
owner-signing-secret-malformed = This is not a Slack signing secret: it is 32 letters and digits, from Basic Information → App Credentials → Signing Secret.
owner-not-configured = Slack is not set up for this organization yet.
owner-slack-unavailable = Slack could not be reached to check the token: try again shortly.
owner-denied = Only the owners of this organization can manage its Slack settings.
owner-internal = Something went wrong on our side: try again later, and tell your ovice administrator if it keeps happening.
owner-invalid-request = The request is not valid: { $fields }.

## What to do about Slack's refusal of a bot token or of its renewal (follows a colon)

advice-copy-again = copy the Bot User OAuth Token again from your Slack app
advice-reinstall = the app was uninstalled or the token revoked: reinstall the app and copy the new token
advice-bot-deactivated = the app's bot user was deactivated: reinstall the app
advice-use-bot-token = use the Bot User OAuth Token (xoxb-…)
advice-refresh-token-spent = the refresh token was already used or revoked: reinstall the app and put the new token and refresh token
advice-client-credentials = the client id or client secret is not the app's: copy both again from Basic Information → App Credentials
advice-check-token = check the token and try again
