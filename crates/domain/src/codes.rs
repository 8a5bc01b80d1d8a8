//! The code lists of DOMAIN.md. UI labels live in the Fluent bundles under `code-<list>-<code>`.

code_enum!(
    /// Kind of organisation taking part in the network.
    OrganisationKind {
        AuslSerd => "ausl_serd",
        EnteAusiliario => "ente_ausiliario",
        ServizioSociale => "servizio_sociale",
        CentroImpiego => "centro_impiego",
        CooperativaSociale => "cooperativa_sociale",
        Azienda => "azienda",
        EnteFormazione => "ente_formazione",
        Associazione => "associazione",
        AgenziaRegionale => "agenzia_regionale",
    }
);

code_enum!(
    /// Role a user holds inside one organisation.
    Role {
        CaseManager => "case_manager",
        Operatore => "operatore",
        TutorAziendale => "tutor_aziendale",
        Coordinatore => "coordinatore",
        Analista => "analista",
        Amministratore => "amministratore",
        Auditor => "auditor",
        Persona => "persona",
    }
);

impl Role {
    /// A role an administrator may grant. The person's own role comes only with an invitation
    /// from the organisation that has them in charge.
    pub fn grantable(code: &str) -> Option<Role> {
        Role::parse(code).filter(|r| *r != Role::Persona)
    }
}

code_enum!(
    Sex {
        Male => "M",
        Female => "F",
    }
);

code_enum!(
    Education {
        Nessuno => "nessuno",
        Elementare => "elementare",
        MediaInferiore => "media_inferiore",
        MediaSuperiore => "media_superiore",
        QualificaProfessionale => "qualifica_professionale",
        Laurea => "laurea",
    }
);

code_enum!(
    WorkHistory {
        Mai => "mai",
        Meno1Anno => "meno_1_anno",
        Da1a5Anni => "1_5_anni",
        Da6a20Anni => "6_20_anni",
        Oltre20Anni => "oltre_20_anni",
    }
);

code_enum!(
    /// Homogeneous user classes of seed 004.
    UserClass {
        Prevenzione => "prevenzione",
        IntercettazionePrecoce => "intercettazione_precoce",
        TdBassoCarico => "td_basso_carico_alta_dinamicita",
        TdAltoCarico => "td_alto_carico_bassa_dinamicita",
    }
);

code_enum!(
    LivingSituation {
        Solo => "solo",
        FamigliaOrigine => "famiglia_origine",
        FamigliaPropria => "famiglia_propria",
        Amici => "con_amici",
        Comunita => "comunita_struttura",
        SenzaDimora => "senza_dimora",
        Carcere => "carcere",
        Altro => "altro",
    }
);

code_enum!(
    Substance {
        Eroina => "eroina",
        Cocaina => "cocaina",
        Alcol => "alcol",
        Cannabis => "cannabis",
        Metadone => "metadone_non_prescritto",
        Benzodiazepine => "benzodiazepine",
        Amfetamine => "amfetamine",
        GiocoAzzardo => "gioco_azzardo",
        Altro => "altro",
    }
);

code_enum!(
    /// Why a person's data may be shared with another organisation.
    ConsentPurpose {
        PresaInCarico => "presa_in_carico_condivisa",
        ProgettoPersonalizzato => "progetto_personalizzato",
        InserimentoLavorativo => "inserimento_lavorativo",
        InserimentoAbitativo => "inserimento_abitativo",
        Monitoraggio => "monitoraggio_esiti",
    }
);

code_enum!(
    /// Why a care episode ended.
    EpisodeClosure {
        ObiettiviRaggiunti => "obiettivi_raggiunti",
        Trasferimento => "trasferimento_altro_servizio",
        Abbandono => "abbandono",
        Decesso => "decesso",
        Carcerazione => "carcerazione",
        Altro => "altro",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for k in OrganisationKind::ALL {
            assert_eq!(OrganisationKind::parse(k.code()), Some(*k));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()), Some(*r));
        }
        assert_eq!(WorkHistory::parse("1_5_anni"), Some(WorkHistory::Da1a5Anni));
        assert_eq!(OrganisationKind::parse("ospedale"), None);
    }
}
