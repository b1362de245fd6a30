-- 《功率因数调整电费办法》: below the last 1 %-step (0.65 / 0.60 / 0.55 for standards 0.90 / 0.85 / 0.80)
-- every further 0.01 adds 2 %, with no floor. The table stopped at 0.40, and rating clamped lower
-- factors to 0.40, undercharging them; the rows down to 0.00 continue the same rule.
INSERT INTO power_factor_adjustment (standard, power_factor, adjustment_pct)
SELECT s.std, pf, 15 + (s.std - 0.25 - pf) * 200
FROM (VALUES (0.90), (0.85), (0.80)) AS s(std)
CROSS JOIN LATERAL (SELECT round(g / 100.0, 2) AS pf FROM generate_series(0, 39) AS g) p
ON CONFLICT ON CONSTRAINT power_factor_adjustment_pkey DO NOTHING;
