import { registry } from "@web/core/registry";

/**
 * A manager gives a shop relay its token, then replaces it: the dialog shows the token once,
 * the line for the relay's environment file, and a command that does not carry the token.
 */
function tokenDialog(token) {
    return [
        {
            content: "the dialog shows the new token",
            trigger: `.modal .o_field_widget[name=token]:contains(${token})`,
        },
        {
            content: "and the line for the relay's environment file",
            trigger: `.modal .o_field_widget[name=environment]:contains(CAISSE_AP_RELAY_TOKEN=${token})`,
        },
        {
            content: "the command starts the relay without the token on its command line",
            trigger:
                ".modal .o_field_widget[name=command]:contains(python3 -m caisse_ap.relay --server):not(:contains(--token)):not(:contains(" +
                token +
                "))",
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

registry.category("web_tour.tours").add("CaisseApRelayTokenTour", {
    steps: () => [
        {
            content: "a relay without token says so",
            trigger: ".o_form_view .alert-warning:contains(This relay has no token yet)",
        },
        {
            content: "create the token",
            trigger: ".o_form_view .o_form_statusbar button:contains(Create the Token)",
            run: "click",
        },
        ...tokenDialog("first-tour-token"),
        {
            content: "the form shows how the token starts, and no longer warns",
            trigger:
                ".o_form_view:not(:has(.alert-warning:contains(no token yet))) .o_field_widget[name=token_prefix]:contains(first-)",
        },
        {
            content: "replace the token",
            trigger: ".o_form_view .o_form_statusbar button:contains(Replace the Token)",
            run: "click",
        },
        {
            content: "the manager is warned that the current token stops working",
            trigger:
                ".modal:contains(The current token stops working at once) .modal-footer .btn-primary",
            run: "click",
        },
        ...tokenDialog("second-tour-token"),
        {
            content: "the form shows the new token's start",
            trigger: ".o_form_view .o_field_widget[name=token_prefix]:contains(second)",
        },
    ],
});
