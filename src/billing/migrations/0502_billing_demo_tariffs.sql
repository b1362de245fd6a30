-- DEMO DATA: Liaoning-like cycles, tariffs, power-factor table and review rules. Every price is a
-- plausible demo value (DOMAIN.md: verify against the published price lists before production use).

INSERT INTO billing_cycle (code, reading_day, due_days, name) VALUES
  ('C01', 1, 15, '每月1日抄表'),
  ('C11', 11, 15, '每月11日抄表'),
  ('C21', 21, 15, '每月21日抄表');

INSERT INTO tariff (code, name, name_en, category, tier_basis, tier_year_start_month, demo_data) VALUES
  ('RES-TIER', '居民生活阶梯电价(年阶梯)', 'Residential tiered (annual tiers)', 'residential', 'annual', 1, true),
  ('RES-TIER-M', '居民生活阶梯电价(月阶梯)', 'Residential tiered (monthly tiers)', 'residential', 'monthly', 1, true),
  ('RES-TOU', '居民阶梯峰谷电价', 'Residential tiered with time-of-use', 'residential', 'annual', 1, true),
  ('GEN-TOU', '一般工商业单一制分时电价', 'General commercial single-part TOU', 'general', 'none', 1, true),
  ('LI-2P', '大工业两部制电价', 'Large industry two-part', 'large_industry', 'none', 1, true),
  ('AGR', '农业生产电价', 'Agricultural production', 'agriculture', 'none', 1, true);

INSERT INTO tariff_version (id, tariff_code, effective_from, tier1_limit_kwh, tier2_limit_kwh, capacity_price, demand_price, pf_standard, pf_min_kva, note) VALUES
  (1, 'RES-TIER', '2024-01-01', 2160, 3360, NULL, NULL, NULL, NULL, 'demo: 2,160 / 3,360 kWh per year'),
  (2, 'RES-TIER-M', '2024-01-01', 180, 280, NULL, NULL, NULL, NULL, 'demo: 180 / 280 kWh per month'),
  (3, 'RES-TOU', '2024-01-01', 2160, 3360, NULL, NULL, NULL, NULL, 'demo: register prices plus tier surcharges'),
  (4, 'GEN-TOU', '2024-01-01', NULL, NULL, NULL, NULL, 0.85, 100, 'demo: agency-purchase price of the month, 1-10 kV'),
  (5, 'LI-2P', '2024-01-01', NULL, NULL, 24.000000, 38.000000, 0.90, 160, 'demo: 1-10 kV large industry'),
  (6, 'AGR', '2024-01-01', NULL, NULL, NULL, NULL, 0.80, 100, 'demo: agricultural catalogue price');

INSERT INTO tariff_rate (version_id, component, register, tier, price) VALUES
  (1, 'energy', 'total', 1, 0.50), (1, 'energy', 'total', 2, 0.55), (1, 'energy', 'total', 3, 0.80),
  (2, 'energy', 'total', 1, 0.50), (2, 'energy', 'total', 2, 0.55), (2, 'energy', 'total', 3, 0.80),
  (3, 'energy', 'peak', 0, 0.55), (3, 'energy', 'flat', 0, 0.50), (3, 'energy', 'valley', 0, 0.30),
  (3, 'tier_surcharge', 'total', 2, 0.05), (3, 'tier_surcharge', 'total', 3, 0.30),
  (4, 'energy', 'sharp', 0, 0.6950), (4, 'energy', 'peak', 0, 0.5792), (4, 'energy', 'flat', 0, 0.3861), (4, 'energy', 'valley', 0, 0.1931),
  (4, 'transmission', 'total', 0, 0.2141), (4, 'line_loss', 'total', 0, 0.0153), (4, 'system_operation', 'total', 0, 0.0325),
  (4, 'government_funds', 'total', 0, 0.0286),
  (5, 'energy', 'sharp', 0, 0.6950), (5, 'energy', 'peak', 0, 0.5792), (5, 'energy', 'flat', 0, 0.3861), (5, 'energy', 'valley', 0, 0.1931),
  (5, 'transmission', 'total', 0, 0.1569), (5, 'line_loss', 'total', 0, 0.0139), (5, 'system_operation', 'total', 0, 0.0325),
  (5, 'government_funds', 'total', 0, 0.0286),
  (6, 'energy', 'total', 0, 0.4880);

-- Power-factor table for standards 0.90 / 0.85 / 0.80 (verify every row against the official table).
-- Below standard: +0.5 % per 0.01 for 20 steps, then +1 % per 0.01 for 5 steps, then +2 % per 0.01.
INSERT INTO power_factor_adjustment (standard, power_factor, adjustment_pct)
SELECT s.std, pf, CASE
    WHEN pf >= s.std THEN 0
    WHEN pf >= s.std - 0.20 THEN (s.std - pf) * 50
    WHEN pf >= s.std - 0.25 THEN 10 + (s.std - 0.20 - pf) * 100
    ELSE 15 + (s.std - 0.25 - pf) * 200 END
FROM (VALUES (0.90), (0.85), (0.80)) AS s(std)
CROSS JOIN LATERAL (SELECT round(g / 100.0, 2) AS pf FROM generate_series(40, 100) AS g) p;
-- Above standard: rebates per the official table.
UPDATE power_factor_adjustment SET adjustment_pct = r.pct
FROM (VALUES
  (0.90, 0.91, -0.15), (0.90, 0.92, -0.30), (0.90, 0.93, -0.45), (0.90, 0.94, -0.60),
  (0.85, 0.86, -0.10), (0.85, 0.87, -0.20), (0.85, 0.88, -0.30), (0.85, 0.89, -0.40), (0.85, 0.90, -0.50),
  (0.85, 0.91, -0.65), (0.85, 0.92, -0.80), (0.85, 0.93, -0.95),
  (0.80, 0.81, -0.10), (0.80, 0.82, -0.20), (0.80, 0.83, -0.30), (0.80, 0.84, -0.40), (0.80, 0.85, -0.50),
  (0.80, 0.86, -0.60), (0.80, 0.87, -0.70), (0.80, 0.88, -0.80), (0.80, 0.89, -0.90), (0.80, 0.90, -1.00),
  (0.80, 0.91, -1.15)) AS r(std, pf, pct)
WHERE standard = r.std AND power_factor = r.pf;
UPDATE power_factor_adjustment SET adjustment_pct = CASE standard WHEN 0.90 THEN -0.75 WHEN 0.85 THEN -1.10 ELSE -1.30 END
WHERE (standard = 0.90 AND power_factor >= 0.95) OR (standard = 0.85 AND power_factor >= 0.94) OR (standard = 0.80 AND power_factor >= 0.92);

INSERT INTO review_rule (code, category, description, factor, threshold, periods, min_count, min_kwh) VALUES
  ('NEGATIVE_CONSUMPTION', '*', '本期电量为负(表码倒走或换表未录)', NULL, NULL, NULL, NULL, NULL),
  ('ZERO_ON_ACTIVE', '*', '在用户电量为零', NULL, NULL, NULL, NULL, NULL),
  ('ESTIMATED_STREAK', '*', '连续多期估抄', NULL, NULL, 3, NULL, NULL),
  ('HIGH_VS_HISTORY', '*', '日均电量超过本户近期均值的倍数', 3, NULL, 6, 3, 100),
  ('HIGH_VS_PEERS', '*', '日均电量超过同台区同电价用户均值的倍数', 5, NULL, NULL, 10, 300),
  ('AMOUNT_ABOVE', 'residential', '居民电费金额超过阈值', NULL, 1000, NULL, NULL, NULL),
  ('AMOUNT_ABOVE', 'general', '一般工商业电费金额超过阈值', NULL, 100000, NULL, NULL, NULL),
  ('AMOUNT_ABOVE', 'large_industry', '大工业电费金额超过阈值', NULL, 5000000, NULL, NULL, NULL),
  ('AMOUNT_ABOVE', 'agriculture', '农业电费金额超过阈值', NULL, 20000, NULL, NULL, NULL),
  ('VEE_FLAG', '*', '抄表数据有未关闭的校验(VEE)标记', NULL, NULL, NULL, NULL, NULL);
