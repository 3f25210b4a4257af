import { register_payment_method } from "@point_of_sale/app/store/pos_store";
import { TERMINAL_KEY } from "@l10n_fr_pos_caisse_ap_ip/app/constants";
import { PaymentCaisseApIp } from "@l10n_fr_pos_caisse_ap_ip/app/payment_caisse_ap_ip";

register_payment_method(TERMINAL_KEY, PaymentCaisseApIp);
