import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as TicketScreen from "@point_of_sale/../tests/tours/utils/ticket_screen_util";
import { registry } from "@web/core/registry";

// The kiosk left an order whose card payment's outcome never came: the cashier opens it at
// the till, is asked what the terminal shows, and books it as paid.
registry.category("web_tour.tours").add("CaisseApKioskSettledAtTheTill", {
    steps: () =>
        [
            Chrome.startPoS(),
            Chrome.clickMenuOption("Orders"),
            TicketScreen.selectOrder("Kiosk"),
            TicketScreen.loadSelectedOrder(),
            ProductScreen.clickPayButton(),
            {
                content: "the till asks what the terminal shows",
                trigger: ".modal:contains('Kiosk payment outcome unknown'):contains('2.53')",
            },
            Dialog.confirm("Paid on the terminal"),
            {
                content: "the order is paid: the till says so and starts a new order",
                trigger: ".o_notification:contains('the kiosk payment was booked')",
            },
            ProductScreen.isShown(),
        ].flat(),
});
