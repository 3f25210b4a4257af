import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import * as CaisseAp from "@l10n_fr_pos_caisse_ap_ip/../tests/tours/caisse_ap_util";
import { registry } from "@web/core/registry";

/**
 * The card method goes through a shop relay (a real relay process, as on Odoo.sh): a declined
 * payment, Retry, approved; then a second order approved at once. The cashier sees the same
 * screens as with a direct connection.
 */
registry.category("web_tour.tours").add("CaisseApRelayTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            ProductScreen.addOrderline("Desk Pad", "1"),
            ProductScreen.clickPayButton(),
            PaymentScreen.isShown(),
            PaymentScreen.clickPaymentMethod("TPE Carte"),
            CaisseAp.declinedDialog("04"),
            CaisseAp.noPaymentInProgress(),
            CaisseAp.clickRetry(),
            ReceiptScreen.isShown(),
            CaisseAp.noPaymentInProgress(),
            ReceiptScreen.clickNextOrder(),

            ProductScreen.addOrderline("Desk Pad", "2"),
            ProductScreen.clickPayButton(),
            PaymentScreen.isShown(),
            PaymentScreen.clickPaymentMethod("TPE Carte"),
            ReceiptScreen.isShown(),
            CaisseAp.noPaymentInProgress(),
        ].flat(),
});
