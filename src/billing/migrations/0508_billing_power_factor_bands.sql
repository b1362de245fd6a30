-- 《功率因数调整电费办法》 sets the standard by customer class and capacity: 0.90 for high-voltage
-- industrial customers from 160 kVA, 0.85 for other customers from 100 kVA (kW). A tariff version's
-- pf_standard applies from pf_min_kva; a band here gives the standard of the smaller customers of the
-- same tariff (a large-industry customer of 100-159 kVA is held to 0.85). Rating takes, of the version's
-- standard and its bands, the one with the highest min_kva the customer's capacity reaches.
CREATE TABLE tariff_power_factor_band (
  version_id integer NOT NULL CONSTRAINT tariff_power_factor_band_version_fkey REFERENCES tariff_version (id),
  min_kva integer NOT NULL CONSTRAINT tariff_power_factor_band_min_kva_check CHECK (min_kva >= 0),
  standard numeric(3,2) NOT NULL,
  CONSTRAINT tariff_power_factor_band_pkey PRIMARY KEY (version_id, min_kva)
);

-- DEMO DATA: the two-part large-industry tariff (standard 0.90 from 160 kVA) holds 100-159 kVA to 0.85.
INSERT INTO tariff_power_factor_band (version_id, min_kva, standard)
SELECT id, 100, 0.85 FROM tariff_version WHERE tariff_code = 'LI-2P' AND pf_standard = 0.90 AND pf_min_kva = 160
ON CONFLICT ON CONSTRAINT tariff_power_factor_band_pkey DO NOTHING;
