-- The platform's skill catalog: reusable capabilities every organization
-- may give its agents. A tenant skill of the same name (tenant table
-- `skills`) overrides the global one for that tenant.
--
-- kind 'prompt':    config {"template": "...", "system": "..."}; a templated
--                   LLM call whose answer must match output_schema.
-- kind 'directive': config {"directive_type": "...", "params": {...}}; the
--                   skill's input (merged over params) is proposed as a
--                   directive of that type.
CREATE TABLE public.skills (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  description text NOT NULL DEFAULT '',
  kind text NOT NULL CHECK (kind IN ('prompt', 'directive')),
  input_schema jsonb NOT NULL DEFAULT '{"type":"object"}',
  output_schema jsonb NOT NULL DEFAULT '{"type":"object"}',
  config jsonb NOT NULL DEFAULT '{}',
  -- least organization role of the user an execution runs for
  min_role text NOT NULL DEFAULT 'member'
    CHECK (min_role IN ('member', 'admin', 'owner')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO public.skills (id, name, description, kind, input_schema,
                           output_schema, config)
VALUES
  ('018f0000-0000-7000-8000-000000000001', 'text.summarize',
   'Summarises a text in a few sentences.', 'prompt',
   '{"type":"object","properties":{"text":{"type":"string","minLength":1},"max_sentences":{"type":"integer","minimum":1,"maximum":20,"default":3}},"required":["text"]}',
   '{"type":"object","properties":{"summary":{"type":"string"}},"required":["summary"]}',
   '{"system":"You summarise texts faithfully and briefly.","template":"Summarise the following text in at most {{input.max_sentences}} sentences.\n\n{{input.text}}"}'),
  ('018f0000-0000-7000-8000-000000000002', 'text.classify',
   'Puts a text into one of the given labels.', 'prompt',
   '{"type":"object","properties":{"text":{"type":"string","minLength":1},"labels":{"type":"array","items":{"type":"string"},"minItems":1}},"required":["text","labels"]}',
   '{"type":"object","properties":{"label":{"type":"string"},"confidence":{"type":"number","minimum":0,"maximum":1}},"required":["label","confidence"]}',
   '{"system":"You classify texts. Answer with the best label and your confidence.","template":"Labels: {{input.labels}}\n\nText:\n{{input.text}}"}'),
  ('018f0000-0000-7000-8000-000000000003', 'signal.emit',
   'Emits a signal into the organization.', 'directive',
   '{"type":"object","properties":{"type":{"type":"string","minLength":1},"payload":{"type":"object"}},"required":["type"]}',
   '{"type":"object"}',
   '{"directive_type":"signal.emit","params":{}}'),
  ('018f0000-0000-7000-8000-000000000004', 'webhook.post',
   'Posts a signed webhook to an allowlisted destination.', 'directive',
   '{"type":"object","properties":{"url":{"type":"string","minLength":1},"body":{"type":"object"}},"required":["url"]}',
   '{"type":"object"}',
   '{"directive_type":"webhook.post","params":{}}');
