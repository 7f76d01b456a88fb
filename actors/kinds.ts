/** Actor kinds. */
export const Kind = { User: 'user', Title: 'title' } as const;
