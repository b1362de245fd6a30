-- Working-day calendar: weekdays work, weekends rest, except the dates listed here (public holidays
-- and the weekends worked in exchange, 调休). Demo data: the 2026 State Council schedule (verify).
CREATE TABLE work_calendar (
  day date PRIMARY KEY,
  working boolean NOT NULL,
  name text NOT NULL
);
INSERT INTO work_calendar (day, working, name) VALUES
  ('2026-01-01', false, '元旦'), ('2026-01-02', false, '元旦'), ('2026-01-04', true, '元旦调休'),
  ('2026-02-14', true, '春节调休'), ('2026-02-16', false, '春节'), ('2026-02-17', false, '春节'), ('2026-02-18', false, '春节'),
  ('2026-02-19', false, '春节'), ('2026-02-20', false, '春节'), ('2026-02-23', false, '春节'), ('2026-02-28', true, '春节调休'),
  ('2026-04-06', false, '清明节'),
  ('2026-05-01', false, '劳动节'), ('2026-05-04', false, '劳动节'), ('2026-05-05', false, '劳动节'), ('2026-05-09', true, '劳动节调休'),
  ('2026-06-19', false, '端午节'),
  ('2026-09-20', true, '国庆节调休'), ('2026-09-25', false, '中秋节'),
  ('2026-10-01', false, '国庆节'), ('2026-10-02', false, '国庆节'), ('2026-10-05', false, '国庆节'), ('2026-10-06', false, '国庆节'),
  ('2026-10-07', false, '国庆节'), ('2026-10-10', true, '国庆节调休');

-- New-connection (业扩报装) application types with their end-to-end limit in working days (utility time).
CREATE TABLE connection_type (
  type text PRIMARY KEY,
  name text NOT NULL,
  name_en text NOT NULL,
  total_limit_working_days integer NOT NULL
);
INSERT INTO connection_type (type, name, name_en, total_limit_working_days) VALUES
  ('residential', '低压居民', 'low-voltage residential', 5),
  ('lv_non_residential', '低压非居民', 'low-voltage non-residential', 6),
  ('hv_single', '高压单电源', 'high-voltage single supply', 22),
  ('hv_dual', '高压双电源', 'high-voltage dual supply', 32);

-- The steps of each type in order, with their limits; awaits_customer: the step's clock starts when the
-- customer hands in (design papers, finished works), not when the previous step ends.
-- Low-voltage step splits are demo defaults within the end-to-end limit.
CREATE TABLE connection_step_def (
  type text NOT NULL CONSTRAINT connection_step_def_type_fkey REFERENCES connection_type (type),
  seq integer NOT NULL,
  step text NOT NULL,
  name text NOT NULL,
  limit_working_days integer NOT NULL,
  awaits_customer boolean NOT NULL DEFAULT false,
  CONSTRAINT connection_step_def_pkey PRIMARY KEY (type, step),
  CONSTRAINT connection_step_def_seq_key UNIQUE (type, seq)
);
INSERT INTO connection_step_def (type, seq, step, name, limit_working_days, awaits_customer) VALUES
  ('residential', 1, 'survey_plan', '现场勘查与供电方案', 2, false),
  ('residential', 2, 'install_energise', '装表接电', 3, false),
  ('lv_non_residential', 1, 'survey_plan', '现场勘查与供电方案', 3, false),
  ('lv_non_residential', 2, 'install_energise', '装表接电', 3, false),
  ('hv_single', 1, 'supply_plan', '供电方案答复', 15, false),
  ('hv_single', 2, 'design_review', '设计文件审核', 10, true),
  ('hv_single', 3, 'mid_check', '中间检查', 5, true),
  ('hv_single', 4, 'completion_check', '竣工检验', 5, true),
  ('hv_single', 5, 'install_energise', '装表接电', 5, false),
  ('hv_dual', 1, 'supply_plan', '供电方案答复', 30, false),
  ('hv_dual', 2, 'design_review', '设计文件审核', 10, true),
  ('hv_dual', 3, 'mid_check', '中间检查', 5, true),
  ('hv_dual', 4, 'completion_check', '竣工检验', 5, true),
  ('hv_dual', 5, 'install_energise', '装表接电', 5, false);

CREATE TABLE connection_application (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  external_ref text NOT NULL CONSTRAINT connection_application_external_ref_key UNIQUE,
  type text NOT NULL CONSTRAINT connection_application_type_fkey REFERENCES connection_type (type),
  status text NOT NULL CONSTRAINT connection_application_status_check CHECK (status IN ('in_progress', 'completed', 'cancelled')),
  applicant_name text NOT NULL,
  address text NOT NULL,
  category text NOT NULL CONSTRAINT connection_application_category_check CHECK (category IN ('residential', 'general', 'large_industry', 'agriculture')),
  tariff_code text NOT NULL,
  billing_cycle text NOT NULL,
  capacity_kva integer NOT NULL CONSTRAINT connection_application_capacity_check CHECK (capacity_kva > 0),
  org_path text NOT NULL,
  transformer_area_id integer,
  received_at timestamptz NOT NULL,
  completed_at timestamptz,
  customer_id bigint,
  meter_id bigint,
  created_by text NOT NULL
);
CREATE INDEX connection_application_org_path_idx ON connection_application (org_path text_pattern_ops);

CREATE TABLE connection_step (
  application_id bigint NOT NULL CONSTRAINT connection_step_application_fkey REFERENCES connection_application (id),
  seq integer NOT NULL,
  step text NOT NULL,
  status text NOT NULL CONSTRAINT connection_step_status_check CHECK (status IN ('pending', 'waiting_customer', 'in_progress', 'done')),
  limit_working_days integer NOT NULL,
  started_on date,
  due_on date,
  completed_on date,
  working_days_used integer,
  completed_by text,
  note text,
  CONSTRAINT connection_step_pkey PRIMARY KEY (application_id, step),
  CONSTRAINT connection_step_seq_key UNIQUE (application_id, seq)
);
CREATE INDEX connection_step_running_idx ON connection_step (due_on) WHERE status = 'in_progress';
