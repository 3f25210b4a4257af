import { registry } from "@web/core/registry";

/**
 * A manager pairs a shop relay: the dialog shows a one-time code, until when it works, and
 * the one command to run on the relay's machine, which asks for the code: neither the code
 * (ps and the shell history would show it) nor a token is on it. Asking again shows a new
 * code (the first one no longer pairs).
 */
function codeDialog(code) {
    return [
        {
            content: "the dialog shows the pairing code",
            trigger: `.modal .o_field_widget[name=code]:contains(${code})`,
        },
        {
            content: "until when it works",
            trigger: ".modal .o_field_widget[name=expires_at]:not(:empty)",
        },
        {
            content: "and the command that asks for it, without the code or any token",
            trigger:
                ".modal .o_field_widget[name=command]:contains(python3 -m caisse_ap.relay pair --server)" +
                `:not(:contains(${code})):not(:contains(--code))` +
                ":not(:contains(TOKEN)):not(:contains(--token))",
        },
        {
            content: "the dialog shows no token",
            trigger: ".modal:not(:has(.o_field_widget[name=token]))",
        },
        {
            content: "close the dialog",
            trigger: ".modal .modal-footer button:contains(Done)",
            run: "click",
        },
        {
            content: "the dialog is closed",
            trigger: "body:not(:has(.modal))",
        },
    ];
}

registry.category("web_tour.tours").add("CaisseApRelayPairingTour", {
    steps: () => [
        {
            content: "a relay without token offers to pair it",
            trigger: ".o_form_view .alert-warning:contains(This relay has no token yet)",
        },
        {
            content: "pair the relay",
            trigger: ".o_form_view .o_form_statusbar button:contains(Pair the Relay)",
            run: "click",
        },
        ...codeDialog("KQ7M-4DXP"),
        {
            content: "ask again: a new code",
            trigger: ".o_form_view .o_form_statusbar button:contains(Pair the Relay)",
            run: "click",
        },
        ...codeDialog("W8RT-2NHC"),
    ],
});
