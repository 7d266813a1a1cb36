/* Many functions in one CU: stap's function-cache order goes through several rehashes. */
#include <stdio.h>

__attribute__((noinline)) int alpha_0(int v) { return v * 3 + 0; }
__attribute__((noinline)) int beta_1(int v) { return v * 4 + 1; }
__attribute__((noinline)) int gamma_2(int v) { return v * 5 + 2; }
__attribute__((noinline)) int delta_3(int v) { return v * 6 + 3; }
__attribute__((noinline)) int eps_4(int v) { return v * 7 + 4; }
__attribute__((noinline)) int zeta_5(int v) { return v * 8 + 5; }
__attribute__((noinline)) int eta_6(int v) { return v * 9 + 6; }
__attribute__((noinline)) int theta_7(int v) { return v * 10 + 7; }
__attribute__((noinline)) int iota_8(int v) { return v * 11 + 8; }
__attribute__((noinline)) int kappa_9(int v) { return v * 12 + 9; }
__attribute__((noinline)) int lambda_10(int v) { return v * 13 + 10; }
__attribute__((noinline)) int mu_11(int v) { return v * 14 + 11; }
__attribute__((noinline)) int nu_12(int v) { return v * 15 + 12; }
__attribute__((noinline)) int xi_13(int v) { return v * 16 + 13; }
__attribute__((noinline)) int omicron_14(int v) { return v * 17 + 14; }
__attribute__((noinline)) int pi_15(int v) { return v * 18 + 15; }
__attribute__((noinline)) int rho_16(int v) { return v * 19 + 16; }
__attribute__((noinline)) int sigma_17(int v) { return v * 20 + 17; }
__attribute__((noinline)) int tau_18(int v) { return v * 21 + 18; }
__attribute__((noinline)) int upsilon_19(int v) { return v * 22 + 19; }
__attribute__((noinline)) int phi_20(int v) { return v * 23 + 20; }
__attribute__((noinline)) int chi_21(int v) { return v * 24 + 21; }
__attribute__((noinline)) int psi_22(int v) { return v * 25 + 22; }
__attribute__((noinline)) int omega_23(int v) { return v * 26 + 23; }
__attribute__((noinline)) int alpha_24(int v) { return v * 27 + 24; }
__attribute__((noinline)) int beta_25(int v) { return v * 28 + 25; }
__attribute__((noinline)) int gamma_26(int v) { return v * 29 + 26; }
__attribute__((noinline)) int delta_27(int v) { return v * 30 + 27; }
__attribute__((noinline)) int eps_28(int v) { return v * 31 + 28; }
__attribute__((noinline)) int zeta_29(int v) { return v * 32 + 29; }
__attribute__((noinline)) int eta_30(int v) { return v * 33 + 30; }
__attribute__((noinline)) int theta_31(int v) { return v * 34 + 31; }
__attribute__((noinline)) int iota_32(int v) { return v * 35 + 32; }
__attribute__((noinline)) int kappa_33(int v) { return v * 36 + 33; }
__attribute__((noinline)) int lambda_34(int v) { return v * 37 + 34; }
__attribute__((noinline)) int mu_35(int v) { return v * 38 + 35; }
__attribute__((noinline)) int nu_36(int v) { return v * 39 + 36; }
__attribute__((noinline)) int xi_37(int v) { return v * 40 + 37; }
__attribute__((noinline)) int omicron_38(int v) { return v * 41 + 38; }
__attribute__((noinline)) int pi_39(int v) { return v * 42 + 39; }
__attribute__((noinline)) int rho_40(int v) { return v * 43 + 40; }
__attribute__((noinline)) int sigma_41(int v) { return v * 44 + 41; }
__attribute__((noinline)) int tau_42(int v) { return v * 45 + 42; }
__attribute__((noinline)) int upsilon_43(int v) { return v * 46 + 43; }
__attribute__((noinline)) int phi_44(int v) { return v * 47 + 44; }

int main(int argc, char **argv)
{
    int r = argc;
    r += alpha_0(r & 7);
    r += beta_1(r & 7);
    r += gamma_2(r & 7);
    r += delta_3(r & 7);
    r += eps_4(r & 7);
    r += zeta_5(r & 7);
    r += eta_6(r & 7);
    r += theta_7(r & 7);
    r += iota_8(r & 7);
    r += kappa_9(r & 7);
    r += lambda_10(r & 7);
    r += mu_11(r & 7);
    r += nu_12(r & 7);
    r += xi_13(r & 7);
    r += omicron_14(r & 7);
    r += pi_15(r & 7);
    r += rho_16(r & 7);
    r += sigma_17(r & 7);
    r += tau_18(r & 7);
    r += upsilon_19(r & 7);
    r += phi_20(r & 7);
    r += chi_21(r & 7);
    r += psi_22(r & 7);
    r += omega_23(r & 7);
    r += alpha_24(r & 7);
    r += beta_25(r & 7);
    r += gamma_26(r & 7);
    r += delta_27(r & 7);
    r += eps_28(r & 7);
    r += zeta_29(r & 7);
    r += eta_30(r & 7);
    r += theta_31(r & 7);
    r += iota_32(r & 7);
    r += kappa_33(r & 7);
    r += lambda_34(r & 7);
    r += mu_35(r & 7);
    r += nu_36(r & 7);
    r += xi_37(r & 7);
    r += omicron_38(r & 7);
    r += pi_39(r & 7);
    r += rho_40(r & 7);
    r += sigma_41(r & 7);
    r += tau_42(r & 7);
    r += upsilon_43(r & 7);
    r += phi_44(r & 7);
    printf("%d\n", r);
    return 0;
}
