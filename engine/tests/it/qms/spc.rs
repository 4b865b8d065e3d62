//! Control limits and capability: the reference's worked X-bar/R example (published and
//! exact constants), and every other chart kind against its formula worked by hand.

use engine::qms::spc::{self, ChartKind, Constants, Sample};
use serde_json::Value;

fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!((actual - expected).abs() <= tolerance, "{what}: {actual} vs {expected}");
}

fn example() -> Value {
    let all: Value = serde_json::from_str(include_str!("../../../data/spc_examples.json")).unwrap();
    all["examples"][0].clone()
}

fn subgroups(e: &Value) -> Vec<Vec<f64>> {
    e["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect())
        .collect()
}

#[test]
fn xbar_r_reproduces_the_hand_calculation_with_published_constants() {
    let e = example();
    let pair = spc::xbar_r(&subgroups(&e), Constants::Published).unwrap();
    let x = &pair.location;
    assert_eq!(x.kind, ChartKind::Xbar);
    for (got, want) in x.points.iter().zip(e["subgroup_means"].as_array().unwrap()) {
        close(*got, want.as_f64().unwrap(), 1e-9, "subgroup mean");
    }
    for (got, want) in pair.dispersion.points.iter().zip(e["subgroup_ranges"].as_array().unwrap()) {
        close(*got, want.as_f64().unwrap(), 1e-9, "subgroup range");
    }
    close(x.center, e["xbar_chart"]["CL"].as_f64().unwrap(), 1e-9, "CL");
    close(x.ucl[0], e["xbar_chart"]["UCL"].as_f64().unwrap(), 1e-6, "UCL");
    close(x.lcl[0], e["xbar_chart"]["LCL"].as_f64().unwrap(), 1e-6, "LCL");
    close(pair.dispersion.center, e["R_chart"]["CL"].as_f64().unwrap(), 1e-9, "R CL");
    close(pair.dispersion.ucl[0], e["R_chart"]["UCL"].as_f64().unwrap(), 1e-6, "R UCL");
    close(pair.dispersion.lcl[0], 0.0, 1e-12, "R LCL");
    close(pair.sigma_within, e["sigma_within_Rbar_over_d2"].as_f64().unwrap(), 1e-6, "sigma within");
    let all: Vec<f64> = subgroups(&e).concat();
    let cap = spc::capability(&all, pair.sigma_within, Some(9.95), Some(10.05)).unwrap();
    close(cap.sigma_overall, e["sigma_overall_s_n_minus_1"].as_f64().unwrap(), 1e-6, "sigma overall");
    for key in ["Cp", "Cpk", "Pp", "Ppk"] {
        let got = match key {
            "Cp" => cap.cp,
            "Cpk" => cap.cpk,
            "Pp" => cap.pp,
            _ => cap.ppk,
        };
        close(got.unwrap(), e["capability"][key].as_f64().unwrap(), 1e-6, key);
    }
}

#[test]
fn xbar_r_with_exact_constants_agrees_with_the_statistics_package() {
    let e = example();
    let pair = spc::xbar_r(&subgroups(&e), Constants::Exact).unwrap();
    let qcc = &e["verification"]["qcc_results"];
    // qcc derives A2 from d2 = 2.326; the exact table differs in the sixth decimal.
    close(pair.location.ucl[0], qcc["xbar_chart"]["UCL"].as_f64().unwrap(), 2e-5, "UCL");
    close(pair.location.lcl[0], qcc["xbar_chart"]["LCL"].as_f64().unwrap(), 2e-5, "LCL");
    close(pair.dispersion.ucl[0], qcc["R_chart"]["UCL"].as_f64().unwrap(), 5e-5, "R UCL");
    let all: Vec<f64> = subgroups(&e).concat();
    let cap = spc::capability(&all, pair.sigma_within, Some(9.95), Some(10.05)).unwrap();
    let exact = &e["capability_with_exact_d2"];
    close(cap.cp.unwrap(), exact["Cp"].as_f64().unwrap(), 1e-6, "Cp");
    close(cap.cpk.unwrap(), exact["Cpk"].as_f64().unwrap(), 1e-6, "Cpk");
    close(cap.ppk.unwrap(), exact["Ppk"].as_f64().unwrap(), 1e-6, "Ppk");
}

#[test]
fn xbar_s_uses_a3_b3_b4_and_c4() {
    let e = example();
    let groups = subgroups(&e);
    let pair = spc::xbar_s(&groups, Constants::Published).unwrap();
    let sds: Vec<f64> = groups.iter().map(|g| spc::stdev(g).unwrap()).collect();
    let sbar = sds.iter().sum::<f64>() / 5.0;
    close(pair.location.ucl[0], 10.0032 + 1.427 * sbar, 1e-9, "UCL");
    close(pair.dispersion.ucl[0], 2.089 * sbar, 1e-9, "S UCL");
    close(pair.dispersion.lcl[0], 0.0, 1e-12, "S LCL");
    close(pair.sigma_within, sbar / 0.94, 1e-9, "sigma");
    // n = 6 has B3 > 0: the S chart gets a lower limit.
    let six: Vec<Vec<f64>> = (0..4).map(|k| (0..6).map(|i| f64::from(i * (k + 1))).collect()).collect();
    let pair = spc::xbar_s(&six, Constants::Published).unwrap();
    close(pair.dispersion.lcl[0], 0.03 * pair.dispersion.center, 1e-9, "S LCL n=6");
}

#[test]
fn individuals_and_moving_range() {
    let values = [10.0, 12.0, 11.0, 13.0, 12.0];
    let pair = spc::imr(&values, Constants::Exact).unwrap();
    // MR = 2, 1, 2, 1 -> MRbar 1.5; sigma = 1.5 / 1.128379.
    assert_eq!(pair.dispersion.points, vec![2.0, 1.0, 2.0, 1.0]);
    // d2 for n = 2 is exactly 2 / sqrt(pi) = 1.128379.
    let sigma = 1.5 / std::f64::consts::FRAC_2_SQRT_PI;
    close(pair.sigma_within, sigma, 1e-6, "sigma");
    close(pair.location.center, 11.6, 1e-12, "CL");
    close(pair.location.ucl[0], 11.6 + 3.0 * sigma, 1e-5, "UCL");
    close(pair.dispersion.ucl[0], 3.266532 * 1.5, 1e-6, "MR UCL");
    assert_eq!(spc::imr(&[1.0], Constants::Exact).unwrap_err().code, "too_few_points");
    assert_eq!(spc::imr(&[1.0, f64::NAN], Constants::Exact).unwrap_err().code, "not_a_number");
}

#[test]
fn attribute_charts() {
    let samples =
        [Sample { count: 2.0, size: 100.0 }, Sample { count: 5.0, size: 200.0 }, Sample { count: 1.0, size: 50.0 }];
    let chart = spc::p(&samples).unwrap();
    let pbar = 8.0 / 350.0;
    close(chart.center, pbar, 1e-12, "pbar");
    assert_eq!(chart.points, vec![0.02, 0.025, 0.02]);
    for (i, s) in samples.iter().enumerate() {
        let half = 3.0 * (pbar * (1.0 - pbar) / s.size).sqrt();
        close(chart.ucl[i], pbar + half, 1e-12, "p UCL");
        close(chart.lcl[i], (pbar - half).max(0.0), 1e-12, "p LCL");
    }
    assert!(chart.ucl[1] < chart.ucl[2], "a larger sample has tighter limits");

    let same =
        [Sample { count: 4.0, size: 100.0 }, Sample { count: 6.0, size: 100.0 }, Sample { count: 2.0, size: 100.0 }];
    let chart = spc::np(&same).unwrap();
    close(chart.center, 4.0, 1e-12, "np CL");
    close(chart.ucl[0], 4.0 + 3.0 * (100.0f64 * 0.04 * 0.96).sqrt(), 1e-12, "np UCL");
    assert_eq!(spc::np(&samples).unwrap_err().code, "unequal_samples");

    let chart = spc::c(&[3.0, 5.0, 4.0, 8.0]).unwrap();
    close(chart.center, 5.0, 1e-12, "c CL");
    close(chart.ucl[0], 5.0 + 3.0 * 5.0f64.sqrt(), 1e-12, "c UCL");
    close(chart.lcl[0], 0.0, 1e-12, "c LCL clipped");

    let chart = spc::u(&[Sample { count: 6.0, size: 3.0 }, Sample { count: 4.0, size: 2.0 }]).unwrap();
    close(chart.center, 2.0, 1e-12, "ubar");
    close(chart.ucl[0], 2.0 + 3.0 * (2.0f64 / 3.0).sqrt(), 1e-12, "u UCL");
    close(chart.ucl[1], 2.0 + 3.0 * 1.0, 1e-12, "u UCL n=2");

    assert_eq!(spc::p(&[Sample { count: 5.0, size: 4.0 }]).unwrap_err().code, "invalid_sample");
    assert_eq!(spc::p(&[]).unwrap_err().code, "too_few_points");
}

#[test]
fn bad_subgroups_and_specifications_are_refused() {
    assert_eq!(spc::xbar_r(&[vec![1.0, 2.0], vec![1.0]], Constants::Exact).unwrap_err().code, "unequal_subgroups");
    assert_eq!(spc::xbar_r(&[vec![1.0]], Constants::Exact).unwrap_err().code, "subgroup_size_out_of_range");
    assert_eq!(spc::xbar_r(&[vec![1.0; 26]], Constants::Exact).unwrap_err().code, "subgroup_size_out_of_range");
    assert_eq!(spc::xbar_r(&[], Constants::Exact).unwrap_err().code, "too_few_points");
    let values = [1.0, 2.0, 3.0];
    assert_eq!(spc::capability(&values, 1.0, None, None).unwrap_err().code, "no_specification");
    assert_eq!(spc::capability(&values, 1.0, Some(5.0), Some(1.0)).unwrap_err().code, "invalid_specification");
    // One-sided: Cpk is that side's index and Cp is undefined.
    let cap = spc::capability(&values, 0.5, None, Some(5.0)).unwrap();
    assert_eq!(cap.cp, None);
    close(cap.cpk.unwrap(), (5.0 - 2.0) / 1.5, 1e-12, "CPU");
}
