import { registry } from "@web/core/registry";

/**
 * A manager looks for the terminals of the payment method's network and chooses one: the
 * dialog proposes the network of the current address, lists what answers, and fills the form.
 */
registry.category("web_tour.tours").add("CaisseApTerminalFinderTour", {
    steps: () => [
        {
            content: "open the terminal finder from the payment method",
            trigger: ".o_form_view button[name=action_caisse_ap_find_terminals]",
            run: "click",
        },
        {
            content: "the finder proposes the network of the current terminal address",
            trigger: ".modal .o_field_widget[name=network] input",
            run: "edit 127.0.0.0/29",
        },
        {
            content: "look for terminals",
            trigger: ".modal .modal-footer button[name=action_scan]",
            run: "click",
        },
        {
            content: "both simulated terminals answer; the method's own is marked as used",
            trigger: ".modal .o_data_row:has(td:contains(127.0.0.1)):has(td:contains(TPE Finder))",
        },
        {
            content: "choose the other terminal",
            trigger: ".modal .o_data_row:has(td:contains(127.0.0.3)) button[name=action_use]",
            run: "click",
        },
        {
            content: "the payment method now holds the chosen terminal's address",
            trigger:
                "body:not(:has(.modal)) .o_form_view .o_field_widget[name=fr_caisse_ap_ip_address] input:value(127.0.0.3)",
        },
    ],
});
